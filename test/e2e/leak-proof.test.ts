/**
 * Proof that nothing leaks: a run that stores known values every way a client can (docker CLI,
 * dockerode, raw API in both base64 alphabets, a driver, a template that pulls in another
 * secret), provokes every error that has a value at hand, and delivers values; afterwards no
 * value, in any encoding, is in any file of the data root (database, WAL, keyring, audit log),
 * in the daemon's debug-level logs, or in any error answer.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Docker from 'dockerode';
import { startDaemon, type Daemon } from '../helpers/daemon.ts';
import type { RawResponse } from '../helpers/http.ts';
import { dockerCliMissing } from '../helpers/tools.ts';

/** Long, random, and marked: no accidental match, and a grep finds them if one ever leaks. */
const value = (what: string) => `LEAK-${what}-${randomBytes(12).toString('hex')}`;
const V = {
  cli: value('cli'),
  dockerode: value('dockerode'),
  std: value('std'),
  url: value('url?>>~'), // bytes whose base64 differs between the two alphabets
  env: value('env'),
  inner: value('inner'),
  conflict: value('conflict'),
  update: value('update'),
};

/** Every form a value could take in a file or a log: raw, base64 both alphabets, hex. */
function forms(v: string): string[] {
  const b = Buffer.from(v);
  return [v, b.toString('base64'), b.toString('base64url'), b.toString('hex'), b.toString('base64').replace(/=+$/, '')];
}

/** URL-safe base64 with its padding, as the 1.44 contract documents it. */
const padded = (b64: string) => b64.padEnd(Math.ceil(b64.length / 4) * 4, '=');

const errors: { what: string; res: RawResponse }[] = [];
let daemon: Daemon;
let token: string;

async function call(what: string, req: Parameters<Daemon['request']>[0]): Promise<RawResponse> {
  const res = await daemon.request(req);
  if (res.status >= 400) errors.push({ what, res });
  return res;
}

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

/** Which value forms occur in `haystack`, named. */
function leaks(haystack: Buffer | string): string[] {
  const text = Buffer.isBuffer(haystack) ? haystack.toString('latin1') : haystack;
  return Object.entries(V).flatMap(([name, v]) =>
    forms(v)
      .filter((f) => text.includes(f))
      .map((f) => `${name} as ${f === v ? 'raw' : 'encoded'}`),
  );
}

const skip = dockerCliMissing();

describe('nothing leaks', { skip }, () => {
  before(async () => {
    daemon = await startDaemon({
      args: ['--delivery', '--log-level', 'debug', '--driver-opt', 'env.allow=LEAK_TEST_*'],
      env: { LEAK_TEST_VALUE: V.env },
    });
    token = (await daemon.request({ method: 'POST', path: '/_secretd/v1/tokens', body: { Allow: ['*'] } })).json.Token;
  });
  after(() => daemon?.dispose());

  test('values go in every way a client stores them, and every refusal that holds a value is answered', async () => {
    const env = { ...process.env, DOCKER_HOST: daemon.host };
    const cli = spawnSync('docker', ['secret', 'create', 'leak_cli', '-'], { env, input: V.cli, encoding: 'utf8' });
    assert.equal(cli.status, 0, cli.stderr);
    const docker = new Docker({ socketPath: daemon.socket });
    await docker.createSecret({ Name: 'leak_dockerode', Data: Buffer.from(V.dockerode).toString('base64') } as never);
    assert.equal(
      (await call('std', { method: 'POST', path: '/v1.44/secrets/create', body: { Name: 'leak_std', Data: Buffer.from(V.std).toString('base64') } })).status,
      201,
    );
    assert.equal(
      (await call('url', { method: 'POST', path: '/v1.44/secrets/create', body: { Name: 'leak_url', Data: padded(Buffer.from(V.url).toString('base64url')) } }))
        .status,
      201,
    );
    assert.equal(
      (await call('env', { method: 'POST', path: '/v1.44/secrets/create', body: { Name: 'LEAK_TEST_VALUE', Driver: { Name: 'env' } } })).status,
      201,
    );
    assert.equal(
      (await call('inner', { method: 'POST', path: '/v1.44/secrets/create', body: { Name: 'leak_inner', Data: Buffer.from(V.inner).toString('base64') } }))
        .status,
      201,
    );
    const template = Buffer.from('user=app password={{secret "inner"}}').toString('base64');
    assert.equal(
      (await call('tmpl', { method: 'POST', path: '/v1.44/secrets/create', body: { Name: 'leak_tmpl', Data: template, Templating: { Name: 'golang' } } }))
        .status,
      201,
    );

    // Refusals with a value in hand: a taken name, a data change, a value too big, a broken body.
    const b64 = (v: string) => Buffer.from(v).toString('base64');
    assert.equal((await call('conflict', { method: 'POST', path: '/v1.44/secrets/create', body: { Name: 'LEAK_STD', Data: b64(V.conflict) } })).status, 409);
    const version = (await daemon.request({ path: '/v1.44/secrets/leak_std' })).json.Version.Index;
    assert.equal(
      (await call('update', { method: 'POST', path: `/v1.44/secrets/leak_std/update?version=${version}`, body: { Name: 'leak_std', Data: b64(V.update) } }))
        .status,
      400,
    );
    assert.equal(
      (await call('big', { method: 'POST', path: '/v1.44/secrets/create', body: { Name: 'leak_big', Data: b64(V.conflict.repeat(20_000)) } })).status,
      400,
    );
    assert.equal(
      (await call('broken', { method: 'POST', path: '/v1.44/secrets/create', body: `{"Name":"leak_broken","Data":"${b64(V.conflict)}"` })).status,
      400,
    );
    assert.equal(
      (await call('types', { method: 'POST', path: '/v1.44/secrets/create', body: { Name: 'leak_types', Data: b64(V.conflict), Labels: V.conflict } })).status,
      400,
    );
    assert.equal((await call('badb64', { method: 'POST', path: '/v1.44/secrets/create', body: { Name: 'leak_badb64', Data: `${V.conflict}!` } })).status, 400);
    // A template whose reference is missing, and deliveries without and with the wrong scope.
    assert.equal(
      (await call('tmpl-missing', { method: 'POST', path: '/_secretd/v1/secrets/leak_tmpl/value', headers: { Authorization: `Bearer ${token}` }, body: {} }))
        .status,
      422,
    );
    assert.equal((await call('no-token', { path: '/_secretd/v1/secrets/leak_std/value' })).status, 401);
  });

  test('deliveries hand out exactly the values, and nothing else does', async () => {
    const deliver = (name: string, body?: unknown) =>
      daemon.request({ method: 'POST', path: `/_secretd/v1/secrets/${name}/value`, headers: { Authorization: `Bearer ${token}` }, body: body ?? {} });
    assert.equal((await deliver('leak_cli')).text, V.cli);
    assert.equal((await deliver('leak_url')).text, V.url);
    assert.equal((await deliver('LEAK_TEST_VALUE')).text, V.env);
    const rendered = await deliver('leak_tmpl', { Secrets: [{ Secret: 'leak_inner', Target: 'inner' }] });
    assert.equal(rendered.text, `user=app password=${V.inner}`);
    for (const name of ['leak_cli', 'leak_std']) {
      const inspected = await daemon.request({ path: `/v1.44/secrets/${name}` });
      assert.deepEqual(leaks(inspected.text), [], `inspect ${name}`);
    }
    assert.deepEqual(leaks((await daemon.request({ path: '/v1.44/secrets' })).text), [], 'list');
  });

  test('no error answer holds a value', () => {
    assert.equal(errors.length, 8, `errors seen: ${errors.map((e) => e.what).join(', ')}`);
    for (const { what, res } of errors) assert.deepEqual(leaks(res.text), [], `${what}: ${res.status} ${res.text}`);
  });

  test('no file in the data root holds a value, before or after a graceful stop', async () => {
    const check = () => {
      const seen = files(daemon.dataRoot);
      assert.ok(
        seen.some((f) => f.endsWith('audit.log')),
        `the audit log is among ${seen.join(', ')}`,
      );
      for (const f of seen) assert.deepEqual(leaks(readFileSync(f)), [], f);
    };
    check();
    const copy = join(daemon.dir, 'logs-before-stop.txt');
    writeFileSync(copy, daemon.logs);
    assert.equal(await daemon.stop(), 0);
    check();
  });

  test('the logs at debug level (stdout and stderr) hold no value', () => {
    assert.match(daemon.logs, /"msg":"request"/, 'request lines were written');
    assert.match(daemon.logs, /"msg":"delivery"/, 'delivery lines were written');
    assert.deepEqual(leaks(daemon.logs), []);
  });
});
