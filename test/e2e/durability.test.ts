/**
 * A 2xx means the write is on disk: SIGKILL the daemon right after (or during) writes, start it
 * again on the same data root, and every acknowledged write is there. Values are never on disk
 * or in the logs in plaintext.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { startDaemon, type Daemon } from '../helpers/daemon.ts';
import { killUnderLoad } from '../helpers/load.ts';

const daemons: Daemon[] = [];
after(async () => {
  for (const d of daemons) await d.dispose();
});

async function start(dataRoot?: string): Promise<Daemon> {
  const d = await startDaemon({ dataRoot, args: ['--log-level', 'debug'] });
  daemons.push(d);
  return d;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

/** Every form a value could leak in: raw bytes, and the base64 a client sent. */
function leakForms(value: Buffer): Buffer[] {
  return [value, Buffer.from(value.toString('base64')), Buffer.from(value.toString('hex'))];
}

describe('durability', () => {
  test('acknowledged creates, updates and deletes survive kill -9', async () => {
    const a = await start();
    const created: { id: string; name: string }[] = [];
    for (let i = 0; i < 20; i++) {
      const res = await a.request({
        method: 'POST',
        path: '/v1.44/secrets/create',
        body: { Name: `dur-${i}`, Data: Buffer.from(`v${i}`).toString('base64'), Labels: { i: String(i) } },
      });
      assert.equal(res.status, 201);
      created.push({ id: res.json.ID, name: `dur-${i}` });
    }
    const v = (await a.request({ path: '/secrets/dur-0' })).json.Version.Index;
    assert.equal(
      (await a.request({ method: 'POST', path: `/secrets/dur-0/update?version=${v}`, body: { Name: 'dur-0', Labels: { changed: 'yes' } } })).status,
      200,
    );
    assert.equal((await a.request({ method: 'DELETE', path: '/secrets/dur-1' })).status, 204);
    const beforeKill = (await a.request({ path: '/secrets' })).json;
    await a.kill9();

    const b = await start(a.dataRoot);
    const afterRestart = (await b.request({ path: '/secrets' })).json;
    assert.deepEqual(afterRestart, beforeKill);
    assert.deepEqual((await b.request({ path: '/secrets/dur-0' })).json.Spec.Labels, { changed: 'yes' });
    assert.equal((await b.request({ path: '/secrets/dur-1' })).status, 404);
    assert.equal(afterRestart.length, 19);
    // Versions keep growing after a restart.
    const res = await b.request({ method: 'POST', path: '/secrets/create', body: { Name: 'dur-after', Data: 'eA==' } });
    const maxBefore = Math.max(...beforeKill.map((s: any) => s.Version.Index));
    assert.ok((await b.request({ path: `/secrets/${res.json.ID}` })).json.Version.Index > maxBefore);
    await b.stop();
  });

  test('a kill -9 in the middle of concurrent writes loses no acknowledged create', async () => {
    const a = await start();
    const acked = await killUnderLoad(a, { name: (w, i) => `kill-${w}-${i}` });

    const b = await start(a.dataRoot);
    const ids = new Set((await b.request({ path: '/secrets' })).json.map((s: any) => s.ID));
    const lost = acked.filter((id) => !ids.has(id));
    assert.deepEqual(lost, [], `${lost.length} of ${acked.length} acknowledged creates were lost`);
    await b.stop();
  });

  test('known values appear nowhere in the data root or the logs', async () => {
    const a = await start();
    const values = Array.from({ length: 5 }, (_, i) => Buffer.from(`plaintext-marker-${i}-${randomBytes(12).toString('hex')}`));
    for (const [i, value] of values.entries()) {
      const res = await a.request({
        method: 'POST',
        path: `/secrets/create?Data=${encodeURIComponent(value.toString('base64'))}`,
        body: { Name: `leak-${i}`, Data: value.toString('base64') },
      });
      assert.equal(res.status, 201);
    }
    // Refused requests that carried a value must not echo it either.
    const dup = await a.request({ method: 'POST', path: '/secrets/create', body: { Name: 'leak-0', Data: values[0]!.toString('base64') } });
    assert.equal(dup.status, 409);
    const upd = await a.request({ method: 'POST', path: '/secrets/leak-1/update?version=1', body: { Name: 'leak-1', Data: values[0]!.toString('base64') } });
    assert.equal(upd.status, 400);
    for (const res of [dup, upd]) for (const form of leakForms(values[0]!)) assert.ok(!res.text.includes(form.toString()));
    await a.stop();

    const files = filesUnder(a.dataRoot);
    assert.ok(
      files.some((f) => f.endsWith('secretd.db')),
      `no database in ${files.join(', ')}`,
    );
    for (const file of files) {
      const content = readFileSync(file);
      for (const value of values) for (const form of leakForms(value)) assert.equal(content.indexOf(form), -1, `${file} holds a value in the clear`);
    }
    assert.match(a.logs, /"path":"\/secrets\/create"/, 'the debug log has request lines');
    for (const value of values) for (const form of leakForms(value)) assert.ok(!a.logs.includes(form.toString()), 'a log line holds a value');
  });
});
