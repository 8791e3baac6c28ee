/**
 * EtcdStore reads are linearizable although they are answered from a watch-fed cache: a write
 * acknowledged through store A (one daemon) is seen by every read through store B (another
 * daemon, its own etcd client and watch) that starts after the acknowledgement. Both tests would
 * fail against a cache that answered without waiting for the revision of the last change: B's
 * watch event for a write arrives after A's acknowledgement, and when B's etcd member resumes
 * after a stall, B's watch is behind while the member already answers reads.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { rfc3339Nano } from '../../src/secrets/clock.ts';
import { newId } from '../../src/secrets/ids.ts';
import { EtcdStore } from '../../src/store/etcd.ts';
import { etcdMissing, startEtcd, type EtcdCluster, type EtcdMember } from '../helpers/etcd.ts';

const missing = etcdMissing();
const freshPrefix = () => `lin-${randomBytes(6).toString('hex')}`;
const uniqueName = (what: string) => `${what}-${randomBytes(6).toString('hex')}`;

/** Create, update and delete through A; after each acknowledgement B must read exactly that state. */
async function writeThenRead(a: EtcdStore, b: EtcdStore, label: string): Promise<void> {
  const name = uniqueName(label);
  const created = await a.createSecret({ id: newId(), name, labels: { step: 'created' }, sealed: Buffer.from(name), createdAt: rfc3339Nano() });
  const got = await b.getSecret(created.id);
  assert.ok(got, `${name}: B does not see the create acknowledged through A`);
  assert.equal(got.version, created.version);
  assert.ok(got.sealed && Buffer.from(got.sealed).equals(Buffer.from(name)));
  assert.deepEqual((await b.findSecrets({ names: [name] })).map((s) => s.id), [created.id], `${name}: not found by name through B`);

  const updated = await a.updateSecretLabels(created.id, created.version, { step: 'updated' }, rfc3339Nano());
  const afterUpdate = await b.getSecret(created.id);
  assert.equal(afterUpdate?.version, updated.version, `${name}: B reads a version older than the update acknowledged through A`);
  const byLabel = await b.findSecrets({ namePrefixes: [name], labels: new Map([['step', 'updated']]) });
  assert.deepEqual(byLabel.map((s) => s.version), [updated.version], `${name}: B's label filter misses the update`);

  assert.equal(await a.deleteSecret(created.id), true);
  assert.equal(await b.getSecret(created.id), undefined, `${name}: B still reads a secret deleted through A`);
  assert.deepEqual(await b.findSecrets({ namePrefixes: [name] }), [], `${name}: B still lists a secret deleted through A`);
}

describe('EtcdStore: linearizable reads through another store', { skip: missing }, () => {
  let etcd: EtcdCluster | undefined;
  before(async () => {
    etcd = await startEtcd(1);
  });
  after(async () => {
    await etcd?.dispose();
  });

  test('every write acknowledged through A is seen at once through B: 300 rounds in a row, then 8 workers at once', async () => {
    const endpoints = etcd!.members.map((m) => m.endpoint);
    const prefix = freshPrefix();
    const [a, b] = [await EtcdStore.connect({ endpoints, prefix }), await EtcdStore.connect({ endpoints, prefix })];
    try {
      for (let i = 0; i < 300; i++) await writeThenRead(a, b, `seq${i}`);
      // Concurrent reads share revision checks: one that joins while a check is in flight must
      // still see a write acknowledged before it started.
      await Promise.all(Array.from({ length: 8 }, async (_, w) => {
        for (let i = 0; i < 40; i++) await writeThenRead(a, b, `w${w}-${i}`);
      }));
      // The reads were the cache's (a store that read etcd every time would pass trivially).
      assert.ok(b.reads.cached > 0.9 * (b.reads.cached + b.reads.direct), `B answered ${b.reads.cached} reads from its cache, ${b.reads.direct} from etcd`);
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe('EtcdStore: linearizable reads after a stalled member resumes', { skip: missing, timeout: 120_000 }, () => {
  let etcd: EtcdCluster | undefined;
  before(async () => {
    etcd = await startEtcd(3);
  });
  after(async () => {
    await etcd?.dispose();
  });

  test("B's etcd member is paused while A writes; once it resumes, B reads every acknowledged write, none stale", async () => {
    const [m0, m1, m2] = etcd!.members as [EtcdMember, EtcdMember, EtcdMember];
    const prefix = freshPrefix();
    // B talks to m1 only, so its watch is on m1; A to the other two, which keep a quorum.
    const a = await EtcdStore.connect({ endpoints: [m0.endpoint, m2.endpoint], prefix });
    const b = await EtcdStore.connect({ endpoints: [m1.endpoint], prefix, timeoutMs: 2000 });
    try {
      const first = await a.createSecret({ id: newId(), name: uniqueName('first'), labels: {}, createdAt: rfc3339Nano() });
      assert.equal((await b.getSecret(first.id))?.version, first.version);

      // A paused member keeps B's connections (and its watch) open but sends nothing: once it
      // resumes, it catches up, and its watch replays more events than a watch's buffer holds.
      etcd!.pause(m1);
      const written: { id: string; name: string; version: number; deleted: boolean }[] = [];
      try {
        await assert.rejects(b.getSecret(first.id), { code: 'unavailable' }, 'without its member B answers nothing, never an old answer');
        for (let i = 0; i < 150; i++) {
          const s = await a.createSecret({ id: newId(), name: uniqueName(`during${i}`), labels: { n: String(i) }, createdAt: rfc3339Nano() });
          written.push({ id: s.id, name: s.name, version: s.version, deleted: false });
        }
        for (const w of written.slice(0, 50)) w.version = (await a.updateSecretLabels(w.id, w.version, { n: 'updated' }, rfc3339Nano())).version;
        for (const w of written.slice(100)) w.deleted = await a.deleteSecret(w.id);
        assert.ok(await a.deleteSecret(first.id));
      } finally {
        etcd!.resume(m1);
      }

      const before = { ...b.reads };
      const deadline = Date.now() + 30_000;
      for (let i = 0; i < written.length; ) {
        const w = written[i]!;
        let got;
        try {
          got = await b.getSecret(w.id);
        } catch (e) {
          // The member may still be catching up with the leader: unavailable is allowed, stale is not.
          assert.equal((e as { code?: string }).code, 'unavailable', String(e));
          assert.ok(Date.now() < deadline, 'B never answered after its member resumed');
          await new Promise((r) => setTimeout(r, 20));
          continue;
        }
        if (w.deleted) assert.equal(got, undefined, `B reads ${w.name}, deleted through A`);
        else assert.equal(got?.version, w.version, `B reads ${w.name} at ${got?.version}, A acknowledged ${w.version}`);
        const listed = await b.findSecrets({ names: [w.name] });
        assert.deepEqual(listed.map((s) => s.version), w.deleted ? [] : [w.version], `B lists ${w.name} stale`);
        i++;
      }
      assert.equal(await b.getSecret(first.id), undefined);
      const updated = await b.findSecrets({ labels: new Map([['n', 'updated']]) });
      assert.deepEqual(updated.map((s) => s.id).sort(), written.slice(0, 50).map((w) => w.id).sort());
      process.stderr.write(`# B after its member resumed: ${b.reads.cached - before.cached} reads from its cache, ${b.reads.direct - before.direct} from etcd\n`);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
