/**
 * A writable driver through a real daemon: `--driver drivers/examples/http-kv.ts` in front of a
 * real key-value server process. The create-time data goes to the driver's store and nowhere
 * else; a delete reaches it; a store that refuses leaves no secret behind.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PROJECT_ROOT, startDaemon, type Daemon } from '../helpers/daemon.ts';
import { request } from '../helpers/http.ts';

const KV_TOKEN = 'kv-e2e-token';
const VALUE = 'written-through-the-driver-5d1c';

let kv: ChildProcess;
let kvUrl: string;
let daemon: Daemon;
let token: string;

function startKv(): Promise<string> {
  kv = spawn(process.execPath, [join(PROJECT_ROOT, 'test/fixtures/kv-server.mjs'), '--port', '0', '--token', KV_TOKEN], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    kv.stdout!.once('data', (c: Buffer) => resolve(`http://127.0.0.1:${c.toString().trim()}`));
    kv.once('exit', (code) => reject(new Error(`kv-server exited with ${code}`)));
  });
}

/** Every file under `dir`, recursively. */
function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

const kvGet = (key: string) => request(kvUrl, { path: `/secrets/${key}`, headers: { Authorization: `Bearer ${KV_TOKEN}` } });

describe('a writable driver loaded with --driver', () => {
  before(async () => {
    kvUrl = await startKv();
    daemon = await startDaemon({
      args: [
        '--delivery',
        '--driver',
        'drivers/examples/http-kv.ts',
        '--driver-opt',
        `http-kv.url=${kvUrl}/secrets`,
        '--driver-opt',
        `http-kv.token=${KV_TOKEN}`,
      ],
    });
    token = (await daemon.request({ method: 'POST', path: '/_secretd/v1/tokens', body: { Allow: ['*'] } })).json.Token;
  });
  after(async () => {
    await daemon?.dispose();
    kv?.kill();
  });

  test('create hands Data to the driver, which stores it; secretd keeps no copy; delivery reads it back', async () => {
    const created = await daemon.request({
      method: 'POST',
      path: '/v1.44/secrets/create',
      body: { Name: 'kv_db', Data: Buffer.from(VALUE).toString('base64'), Driver: { Name: 'http-kv', Options: { key: 'prod/db' } } },
    });
    assert.equal(created.status, 201, created.text);
    const stored = await kvGet('prod/db');
    assert.equal(stored.status, 200);
    assert.equal(stored.text, VALUE);
    const delivered = await daemon.request({ path: '/_secretd/v1/secrets/kv_db/value', headers: { Authorization: `Bearer ${token}` } });
    assert.equal(delivered.text, VALUE);
    for (const f of files(daemon.dataRoot)) {
      const bytes = readFileSync(f);
      for (const form of [VALUE, Buffer.from(VALUE).toString('base64')]) assert.ok(!bytes.includes(form), `${f} holds the value`);
    }
  });

  test('delete tells the driver, which removes the key from its store', async () => {
    assert.equal((await daemon.request({ method: 'DELETE', path: '/v1.44/secrets/kv_db' })).status, 204);
    assert.equal((await kvGet('prod/db')).status, 404);
  });

  test('a store that refuses the data fails the create with a 502 and leaves no secret', async () => {
    const first = await daemon.request({
      method: 'POST',
      path: '/v1.44/secrets/create',
      body: { Name: 'kv_one', Data: Buffer.from('a').toString('base64'), Driver: { Name: 'http-kv', Options: { key: 'shared' } } },
    });
    assert.equal(first.status, 201);
    // The same key again: the service refuses to overwrite (412), so this create must not survive.
    const second = await daemon.request({
      method: 'POST',
      path: '/v1.44/secrets/create',
      body: { Name: 'kv_two', Data: Buffer.from('b').toString('base64'), Driver: { Name: 'http-kv', Options: { key: 'shared' } } },
    });
    assert.equal(second.status, 502);
    assert.match(second.json.message, /^secret driver http-kv: PUT key shared: the key already exists/);
    assert.equal((await daemon.request({ path: '/v1.44/secrets/kv_two' })).status, 404);
    assert.equal((await kvGet('shared')).text, 'a', 'the first value is untouched');
  });

  test('a name conflict never reaches the driver: the existing key keeps its value', async () => {
    const again = await daemon.request({
      method: 'POST',
      path: '/v1.44/secrets/create',
      body: { Name: 'KV_ONE', Data: Buffer.from('overwrite?').toString('base64'), Driver: { Name: 'http-kv', Options: { key: 'shared' } } },
    });
    assert.equal(again.status, 409);
    assert.equal((await kvGet('shared')).text, 'a');
  });
});
