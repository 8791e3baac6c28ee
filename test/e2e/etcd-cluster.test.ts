/**
 * Several daemons as one swarm (issue 5): a real 3-member etcd on loopback and three secretd
 * daemons started as a user starts them (`npm start -- --store etcd://… --keyring FILE`). They
 * must behave as one swarm: what one creates the others see at once, a name is taken once,
 * versions are compared across daemons, and swarm init/leave are shared. The fault test is in
 * etcd-faults.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startDaemon, type Daemon } from '../helpers/daemon.ts';
import { etcdMissing, startEtcd, type EtcdCluster } from '../helpers/etcd.ts';

const missing = etcdMissing();
let etcd: EtcdCluster;
let daemons: Daemon[] = [];
let dir: string;

const V = '/v1.44';

before(async () => {
  if (missing) return;
  etcd = await startEtcd(3);
  dir = mkdtempSync(join(tmpdir(), 'secretd-etcd-e2e-'));
  const args = ['--store', etcd.storeUrl('e2e'), '--keyring', join(dir, 'keyring.json'), '--log-level', 'warn'];
  // Started together on an empty etcd: they must agree on one swarm and one keyring.
  daemons = await Promise.all([0, 1, 2].map(() => startDaemon({ args, timeoutMs: 60_000 })));
});

after(async () => {
  for (const d of daemons) await d.dispose();
  await etcd?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Every key and value under the test's prefix, through etcd's JSON gateway. */
async function etcdDump(): Promise<{ key: string; value: Buffer }[]> {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const res = await fetch(`http://${etcd.members[0]!.endpoint}/v3/kv/range`, {
    method: 'POST',
    body: JSON.stringify({ key: b64('e2e/'), range_end: b64('e2e0') }),
  });
  const body = (await res.json()) as { kvs?: { key: string; value?: string }[] };
  return (body.kvs ?? []).map((kv) => ({ key: Buffer.from(kv.key, 'base64').toString(), value: Buffer.from(kv.value ?? '', 'base64') }));
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const create = (d: Daemon, name: string, value = 'v', labels: Record<string, string> = {}) =>
  d.request({ method: 'POST', path: `${V}/secrets/create`, body: { Name: name, Data: Buffer.from(value).toString('base64'), Labels: labels } });

describe('three daemons over a 3-member etcd', { skip: missing }, () => {
  test('daemons started together report one swarm, and /info names the etcd store', async () => {
    const infos = await Promise.all(daemons.map(async (d) => (await d.request({ path: `${V}/info` })).json));
    const ids = new Set(infos.map((i) => i.Swarm.Cluster?.ID));
    assert.equal(ids.size, 1, `cluster IDs: ${[...ids]}`);
    assert.ok([...ids][0]);
    for (const i of infos) {
      assert.equal(i.Swarm.LocalNodeState, 'active');
      assert.deepEqual(i.DriverStatus[0], ['Store', 'etcd']);
      assert.equal(i.DriverStatus[1][1], etcd.storeUrl('e2e'));
    }
  });

  test('a secret created through A is visible through B and C at once, and its value is in etcd only sealed', async () => {
    const [a, b, c] = daemons as [Daemon, Daemon, Daemon];
    const value = 'plaintext-visible-once-7f3a';
    const created = await create(a, 'shared_db_password', value, { team: 'core' });
    assert.equal(created.status, 201, created.text);
    for (const d of [b, c]) {
      const got = await d.request({ path: `${V}/secrets/shared_db_password` });
      assert.equal(got.status, 200, got.text);
      assert.equal(got.json.ID, created.json.ID);
      assert.deepEqual(got.json.Spec.Labels, { team: 'core' });
      const listed = await d.request({ path: `${V}/secrets?filters=${encodeURIComponent(JSON.stringify({ name: ['shared_db'] }))}` });
      assert.deepEqual(
        listed.json.map((s: { ID: string }) => s.ID),
        [created.json.ID],
      );
    }
    const all = Buffer.concat((await etcdDump()).flatMap((kv) => [Buffer.from(kv.key), kv.value]));
    assert.ok(all.length > 0);
    for (const needle of [value, Buffer.from(value).toString('base64')]) assert.equal(all.includes(needle), false, `etcd holds ${needle}`);
  });

  test('reads are linearizable across daemons: each write acknowledged through A is read at once through B and C', async () => {
    const [a, b, c] = daemons as [Daemon, Daemon, Daemon];
    for (let i = 0; i < 100; i++) {
      const name = `lin_${i}`;
      const created = await create(a, name, 'v', { round: String(i) });
      assert.equal(created.status, 201, created.text);
      const seen = await b.request({ path: `${V}/secrets/${name}` });
      assert.equal(seen.status, 200, `round ${i}: B does not see the create acknowledged through A: ${seen.text}`);
      assert.equal(seen.json.ID, created.json.ID);
      const updated = await a.request({
        method: 'POST',
        path: `${V}/secrets/${created.json.ID}/update?version=${seen.json.Version.Index}`,
        body: { Name: name, Labels: { round: String(i), updated: 'yes' } },
      });
      assert.equal(updated.status, 200, updated.text);
      const listed = await c.request({ path: `${V}/secrets?filters=${encodeURIComponent(JSON.stringify({ name: [name], label: ['updated=yes'] }))}` });
      assert.deepEqual(
        listed.json.map((s: { ID: string }) => s.ID),
        [created.json.ID],
        `round ${i}: C misses the update acknowledged through A`,
      );
      assert.equal((await a.request({ method: 'DELETE', path: `${V}/secrets/${created.json.ID}` })).status, 204);
      const gone = await b.request({ path: `${V}/secrets/${created.json.ID}` });
      assert.equal(gone.status, 404, `round ${i}: B still reads a secret deleted through A`);
    }
  });

  test('the same name created concurrently through A, B and C yields exactly one 201', async () => {
    for (let round = 0; round < 5; round++) {
      const name = `race_${round}`;
      const answers = await Promise.all(daemons.map((d, i) => create(d, i % 2 ? name.toUpperCase() : name)));
      const statuses = answers.map((r) => r.status).sort();
      assert.deepEqual(statuses, [201, 409, 409], `round ${round}: ${answers.map((r) => r.text).join(' | ')}`);
      for (const r of answers.filter((x) => x.status === 409)) assert.match(r.json.message, /AlreadyExists/);
      const listed = await daemons[2]!.request({ path: `${V}/secrets?filters=${encodeURIComponent(JSON.stringify({ name: [name] }))}` });
      assert.equal(listed.json.length, 1);
    }
  });

  test('a stale update through B after an update through A is refused as out of sequence', async () => {
    const [a, b, c] = daemons as [Daemon, Daemon, Daemon];
    const created = await create(a, 'versioned');
    const seen = (await b.request({ path: `${V}/secrets/versioned` })).json;
    const first = await a.request({
      method: 'POST',
      path: `${V}/secrets/${created.json.ID}/update?version=${seen.Version.Index}`,
      body: { Name: 'versioned', Labels: { by: 'a' } },
    });
    assert.equal(first.status, 200, first.text);
    const stale = await b.request({
      method: 'POST',
      path: `${V}/secrets/${created.json.ID}/update?version=${seen.Version.Index}`,
      body: { Name: 'versioned', Labels: { by: 'b' } },
    });
    assert.equal(stale.status, 500);
    assert.match(stale.json.message, /update out of sequence/);
    const now = (await c.request({ path: `${V}/secrets/versioned` })).json;
    assert.deepEqual(now.Spec.Labels, { by: 'a' });
    assert.ok(now.Version.Index > seen.Version.Index);
    // The version each daemon shows is the one store-wide counter: C can update with it.
    const fresh = await c.request({
      method: 'POST',
      path: `${V}/secrets/${created.json.ID}/update?version=${now.Version.Index}`,
      body: { Name: 'versioned', Labels: { by: 'c' } },
    });
    assert.equal(fresh.status, 200, fresh.text);
  });

  test('swarm leave through A is seen by B and C; init through C is seen by A and B', async () => {
    const [a, b, c] = daemons as [Daemon, Daemon, Daemon];
    assert.equal((await a.request({ method: 'POST', path: `${V}/swarm/leave?force=1` })).status, 200);
    // Writes are checked against the stored state in the same etcd transaction: refused at once.
    const refused = await create(b, 'after_leave');
    assert.equal(refused.status, 503, refused.text);
    for (const d of [b, c]) {
      await until('the leave is seen', async () => (await d.request({ path: `${V}/info` })).json.Swarm.LocalNodeState === 'inactive');
      assert.equal((await d.request({ path: `${V}/secrets` })).status, 503);
    }
    const init = await c.request({ method: 'POST', path: `${V}/swarm/init`, body: { ListenAddr: '0.0.0.0:2377', AdvertiseAddr: '127.0.0.1' } });
    assert.equal(init.status, 200, init.text);
    const clusterId = (await c.request({ path: `${V}/swarm` })).json.ID;
    for (const d of [a, b]) {
      await until('the init is seen', async () => (await d.request({ path: `${V}/swarm` })).json?.ID === clusterId);
      const again = await d.request({ method: 'POST', path: `${V}/swarm/init`, body: {} });
      assert.equal(again.status, 503);
      assert.match(again.json.message, /already part of a swarm/);
    }
    assert.deepEqual((await a.request({ path: `${V}/secrets` })).json, [], 'leaving erased every secret');
    assert.equal((await create(a, 'shared_db_password')).status, 201, 'the names are free again');
  });
});
