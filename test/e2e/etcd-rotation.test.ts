/**
 * Rotation and the recovery window over etcd: two daemons started as a user starts them on one
 * real etcd. A rotate, rollback, removal or restore through one is what the other answers at
 * once; rotates racing through both daemons each get their own version number, and the keep
 * limit holds.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { uniquePrefix } from '../helpers/cli.ts';
import { startDaemon, type Daemon } from '../helpers/daemon.ts';
import { etcdMissing, startEtcd, type EtcdCluster } from '../helpers/etcd.ts';

const missing = etcdMissing();
const PREFIX = '/_secretd/v1';

describe('rotation over etcd, through two daemons', { skip: missing }, () => {
  let etcd: EtcdCluster;
  let a: Daemon;
  let b: Daemon;
  let dir: string;
  const tokens = new Map<Daemon, string>();
  const p = uniquePrefix('erot');

  before(async () => {
    etcd = await startEtcd(1);
    dir = mkdtempSync(join(tmpdir(), 'secretd-etcd-rotation-'));
    const args = [
      '--store',
      etcd.storeUrl('rot'),
      '--keyring',
      join(dir, 'keyring.json'),
      '--log-level',
      'warn',
      '--delivery',
      '--keep-versions',
      '3',
      '--recovery-window',
      '1h',
    ];
    [a, b] = await Promise.all([startDaemon({ args, timeoutMs: 60_000 }), startDaemon({ args, timeoutMs: 60_000 })]);
    for (const d of [a, b]) {
      const issued = await d.request({ method: 'POST', path: `${PREFIX}/tokens`, body: { Allow: [`${p}*`] } });
      assert.equal(issued.status, 201, issued.text);
      tokens.set(d, issued.json.Token as string);
    }
  });

  after(async () => {
    await a?.dispose();
    await b?.dispose();
    await etcd?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const value = async (d: Daemon, name: string) => {
    const res = await d.request({ path: `${PREFIX}/secrets/${name}/value`, headers: { Authorization: `Bearer ${tokens.get(d)}` } });
    assert.equal(res.status, 200, `${name}: ${res.text}`);
    return res.text;
  };
  const rotate = (d: Daemon, name: string, v: string) =>
    d.request({ method: 'POST', path: `${PREFIX}/secrets/${name}/versions`, body: { Data: Buffer.from(v).toString('base64') } });
  const versions = async (d: Daemon, name: string) =>
    ((await d.request({ path: `${PREFIX}/secrets/${name}/versions` })).json as { Version: number; Current: boolean }[]).map((v) => [v.Version, v.Current]);
  const create = (d: Daemon, name: string, v: string) =>
    d.request({ method: 'POST', path: '/secrets/create', body: { Name: name, Data: Buffer.from(v).toString('base64') } });

  test('a rotate or rollback through one daemon is what the other delivers next', async () => {
    const name = `${p}_db`;
    assert.equal((await create(a, name, 'one')).status, 201);
    for (const n of [2, 3, 4]) {
      const rotated = await rotate(n % 2 === 0 ? a : b, name, `v${n}`);
      assert.equal(rotated.status, 201, rotated.text);
      assert.equal(rotated.json.Version, n);
      assert.equal(await value(n % 2 === 0 ? b : a, name), `v${n}`, 'read through the other daemon right after');
    }
    assert.deepEqual(await versions(b, name), [
      [2, false],
      [3, false],
      [4, true],
    ]);
    assert.equal((await b.request({ method: 'POST', path: `${PREFIX}/secrets/${name}/versions/2/rollback` })).status, 200);
    assert.equal(await value(a, name), 'v2');
    const inspectA = (await a.request({ path: `/secrets/${name}` })).json;
    const inspectB = (await b.request({ path: `/secrets/${name}` })).json;
    assert.deepEqual(inspectA, inspectB);
  });

  test('rotates racing through both daemons each get their own number; the keep limit holds', async () => {
    const name = `${p}_race`;
    assert.equal((await create(b, name, 'seed')).status, 201);
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => rotate(i % 2 === 0 ? a : b, name, `race-${i}`)));
    for (const r of results) assert.equal(r.status, 201, r.text);
    const numbers = results.map((r) => r.json.Version as number).sort((x, y) => x - y);
    assert.deepEqual(
      numbers,
      Array.from({ length: 12 }, (_, i) => i + 2),
      'every rotate got its own, gapless number',
    );
    const kept = await versions(a, name);
    assert.deepEqual(kept, [
      [11, false],
      [12, false],
      [13, true],
    ]);
    const last = results.find((r) => r.json.Version === 13)!;
    const index = results.indexOf(last);
    assert.equal(await value(b, name), `race-${index}`, 'the current value is the one that got the highest number');
  });

  test('a removal through one daemon frees the name everywhere; restore is refused while it is taken, then brings the secret back', async () => {
    const name = `${p}_rm`;
    const created = await create(a, name, 'keep me');
    assert.equal(created.status, 201);
    const id = created.json.ID as string;
    assert.equal((await rotate(a, name, 'keep me too')).status, 201);
    assert.equal((await a.request({ method: 'DELETE', path: `/secrets/${name}` })).status, 204);
    assert.equal((await b.request({ path: `/secrets/${name}` })).status, 404);
    assert.deepEqual((await b.request({ path: `/secrets?filters=${encodeURIComponent(JSON.stringify({ name: [name] }))}` })).json, []);
    const listed = (await b.request({ path: `${PREFIX}/removed-secrets` })).json as { ID: string }[];
    assert.ok(listed.some((r) => r.ID === id));

    const reuse = await create(b, name, 'new owner');
    assert.equal(reuse.status, 201);
    const refused = await a.request({ method: 'POST', path: `${PREFIX}/removed-secrets/${name}/restore` });
    assert.equal(refused.status, 409, refused.text);
    assert.equal(await value(a, name), 'new owner');

    assert.equal((await b.request({ method: 'DELETE', path: `/secrets/${reuse.json.ID}` })).status, 204);
    const restored = await a.request({ method: 'POST', path: `${PREFIX}/removed-secrets/${id}/restore` });
    assert.equal(restored.status, 200, restored.text);
    assert.equal(await value(b, name), 'keep me too');
    assert.deepEqual(await versions(b, name), [
      [1, false],
      [2, true],
    ]);
    assert.equal((await b.request({ method: 'DELETE', path: `${PREFIX}/removed-secrets/${reuse.json.ID}` })).status, 204);
    assert.ok(!((await a.request({ path: `${PREFIX}/removed-secrets` })).json as { ID: string }[]).some((r) => r.ID === reuse.json.ID));
  });
});
