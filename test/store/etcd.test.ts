/**
 * EtcdStore: the Store contract on a real single-member etcd (each store under its own key
 * prefix), plus what only etcd has: the key layout with no plaintext, versions that are etcd
 * revisions shared by two stores, prefixes that keep deployments apart, the keyring check, the
 * swarm watch, and failing fast when etcd is gone.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { rfc3339Nano } from '../../src/core/clock.ts';
import { newId } from '../../src/core/ids.ts';
import type { SwarmRecord } from '../../src/swarm/types.ts';
import { EtcdStore } from '../../src/store/etcd.ts';
import { etcdMissing, startEtcd, type EtcdCluster } from '../helpers/etcd.ts';
import { storeContract } from './contract.ts';
import { versionsContract } from './contract-versions.ts';

const missing = etcdMissing();
let etcd: EtcdCluster | undefined;

before(async () => {
  if (!missing) etcd = await startEtcd(1);
});
after(async () => {
  await etcd?.dispose();
});

const endpoints = () => etcd!.members.map((m) => m.endpoint);
const freshPrefix = () => `test-${randomBytes(6).toString('hex')}`;

function connect(prefix = freshPrefix(), timeoutMs?: number): Promise<EtcdStore> {
  return EtcdStore.connect({ endpoints: endpoints(), prefix, ...(timeoutMs ? { timeoutMs } : {}) });
}

if (missing) {
  test('EtcdStore contract', { skip: missing }, () => {});
} else {
  const open = async () => {
    const store = await connect();
    return { store, cleanup: () => store.close() };
  };
  storeContract('etcd', open);
  versionsContract('etcd', open);
}

/** Every key and value under a prefix, straight from etcd's JSON gateway. */
async function dump(prefix: string): Promise<{ key: string; value: Buffer }[]> {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const end = `${prefix}0`; // '/' + 1
  const res = await fetch(`http://${endpoints()[0]}/v3/kv/range`, {
    method: 'POST',
    body: JSON.stringify({ key: b64(`${prefix}/`), range_end: b64(end) }),
  });
  const body = (await res.json()) as { kvs?: { key: string; value: string }[] };
  return (body.kvs ?? []).map((kv) => ({ key: Buffer.from(kv.key, 'base64').toString(), value: Buffer.from(kv.value ?? '', 'base64') }));
}

const active = (): SwarmRecord => ({
  state: 'active',
  cluster: {
    id: newId(),
    nodeId: newId(),
    version: 0,
    createdAt: rfc3339Nano(),
    updatedAt: rfc3339Nano(),
    listenAddr: '0.0.0.0:2377',
    advertiseAddr: '127.0.0.1:2377',
    autoLockManagers: false,
    labels: {},
    joinTokens: { worker: 'w', manager: 'm' },
  },
});

describe('EtcdStore only', { skip: missing }, () => {
  test('keys follow the documented layout and hold the sealed bytes only as given', async () => {
    const prefix = freshPrefix();
    const store = await connect(prefix);
    try {
      const sealed = Buffer.from('opaque-sealed-bytes');
      const s = await store.createSecret({ id: newId(), name: 'Layout', labels: { a: 'b' }, sealed, createdAt: rfc3339Nano() });
      await store.writeSwarm(active());
      const keys = await dump(prefix);
      assert.deepEqual(
        keys.map((k) => k.key).sort(),
        [`${prefix}/names/layout`, `${prefix}/sealed/${s.id}`, `${prefix}/secrets`, `${prefix}/secrets/${s.id}`, `${prefix}/swarm`].sort(),
      );
      assert.ok(keys.find((k) => k.key.endsWith(`/sealed/${s.id}`))!.value.equals(sealed));
      assert.equal(keys.find((k) => k.key.endsWith('/names/layout'))!.value.toString(), s.id);
      const meta = keys.find((k) => k.key.endsWith(`/secrets/${s.id}`))!.value.toString();
      assert.ok(!meta.includes('opaque'), 'metadata never carries the sealed value');
    } finally {
      await store.close();
    }
  });

  test('kept values and removed secrets follow the documented layout, outside the cached range', async () => {
    const prefix = freshPrefix();
    const store = await connect(prefix);
    try {
      const v1 = Buffer.from('opaque-sealed-v1');
      const s = await store.createSecret({ id: newId(), name: 'Kept', labels: {}, sealed: v1, createdAt: rfc3339Nano() });
      const v2 = Buffer.from('opaque-sealed-v2');
      await store.rotateValue(s.id, { version: 2, createdAt: rfc3339Nano(), sealed: v2 }, 5, rfc3339Nano());
      const live = (await dump(prefix)).map((k) => k.key);
      assert.ok(live.includes(`${prefix}/kept/${s.id}/0000000001`), live.join(' '));
      const purgeAfter = '2026-12-31T00:00:00.000Z';
      await store.removeToRecovery(s.id, '2026-12-01T00:00:00.000Z', purgeAfter);
      const keys = await dump(prefix);
      assert.deepEqual(
        keys.map((k) => k.key).sort(),
        [
          `${prefix}/kept/${s.id}/0000000001`,
          `${prefix}/kept/${s.id}/0000000002`,
          `${prefix}/removed-due/${purgeAfter}/${s.id}`,
          `${prefix}/removed-names/kept/${s.id}`,
          `${prefix}/removed/${s.id}`,
          `${prefix}/secrets`,
        ].sort(),
      );
      const kept = keys.find((k) => k.key.endsWith('/0000000002'))!.value;
      assert.ok(kept.subarray(kept.indexOf(0x0a) + 1).equals(v2), 'the sealed bytes follow the header as given');
      assert.ok(
        !keys
          .find((k) => k.key.endsWith(`/removed/${s.id}`))!
          .value.toString()
          .includes('opaque'),
        'the removed record carries no value',
      );
    } finally {
      await store.close();
    }
  });

  test('two stores on one prefix: rotate, rollback, remove and restore through one are read at once through the other', async () => {
    const prefix = freshPrefix();
    const [a, b] = [await connect(prefix), await connect(prefix)];
    try {
      const created = await a.createSecret({ id: newId(), name: 'both', labels: {}, sealed: Buffer.from('v1'), createdAt: rfc3339Nano() });
      assert.ok(await b.getSecret(created.id));
      const cachedBefore = b.reads.cached;
      const { secret } = await a.rotateValue(created.id, { version: 2, createdAt: rfc3339Nano(), sealed: Buffer.from('v2') }, 5, rfc3339Nano());
      assert.deepEqual(await b.getSecret(created.id), secret);
      const { sealed: _, ...listedSecret } = secret;
      assert.deepEqual(await b.findSecrets({ names: ['both'] }), [listedSecret]);
      await assert.rejects(b.rotateValue(created.id, { version: 2, createdAt: rfc3339Nano(), sealed: Buffer.from('v2b') }, 5, rfc3339Nano()), {
        code: 'out_of_sequence',
      });
      const back = await b.rollbackValue(created.id, 1, rfc3339Nano());
      assert.deepEqual(await a.getSecret(created.id), back);
      assert.equal(await a.removeToRecovery(created.id, rfc3339Nano(), rfc3339Nano()), true);
      assert.equal(await b.getSecret(created.id), undefined);
      assert.deepEqual(await b.findSecrets({}), []);
      assert.ok(b.reads.cached > cachedBefore, 'the reads were served by the cache');
      const restored = await b.restoreRemoved(created.id, rfc3339Nano());
      assert.deepEqual(await a.getSecret(created.id), restored);
      assert.deepEqual(await a.listValueVersions(created.id), await b.listValueVersions(created.id));
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('two stores on one prefix (two daemons) share names, versions and the swarm state', async () => {
    const prefix = freshPrefix();
    const [a, b] = [await connect(prefix), await connect(prefix)];
    try {
      const created = await a.createSecret({ id: newId(), name: 'shared', labels: {}, createdAt: rfc3339Nano() });
      assert.deepEqual(await b.getSecret(created.id), created);
      await assert.rejects(b.createSecret({ id: newId(), name: 'SHARED', labels: {}, createdAt: rfc3339Nano() }), { code: 'name_conflict' });
      const updated = await a.updateSecretLabels(created.id, created.version, { by: 'a' }, rfc3339Nano());
      await assert.rejects(b.updateSecretLabels(created.id, created.version, { by: 'b' }, rfc3339Nano()), { code: 'out_of_sequence' });
      const other = await b.createSecret({ id: newId(), name: 'other', labels: {}, createdAt: rfc3339Nano() });
      assert.ok(other.version > updated.version, 'versions grow across both stores');
      await a.writeSwarm(active());
      await b.leaveSwarm({ state: 'inactive' });
      await assert.rejects(a.createSecret({ id: newId(), name: 'after', labels: {}, createdAt: rfc3339Nano() }), { code: 'not_in_swarm' });
      assert.deepEqual(await a.findSecrets({}), []);
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('writes of one turn share one transaction, each with its own outcome; writes on one secret or name do not share one', async () => {
    const store = await connect();
    try {
      const taken = await store.createSecret({ id: newId(), name: 'taken', labels: {}, createdAt: rfc3339Nano() });
      const doomed = await store.createSecret({ id: newId(), name: 'doomed', labels: {}, createdAt: rfc3339Nano() });
      const fresh = (name: string) => ({ id: newId(), name, labels: {}, sealed: Buffer.from(name), createdAt: rfc3339Nano() });
      // Issued together: the creates and the update go in one transaction; the conflict and the
      // stale update fail inside it without undoing the others.
      const results = await Promise.allSettled([
        store.createSecret(fresh('g-one')),
        store.createSecret(fresh('TAKEN')),
        store.createSecret(fresh('g-two')),
        store.updateSecretLabels(taken.id, taken.version + 1, { v: 'stale' }, rfc3339Nano()),
        store.updateSecretLabels(taken.id, taken.version, { v: 'new' }, rfc3339Nano()),
        store.deleteSecret(doomed.id),
        store.createSecret(fresh('DOOMED')),
      ]);
      const outcome = results.map((r) => (r.status === 'fulfilled' ? 'ok' : (r.reason as { code?: string }).code));
      assert.deepEqual(outcome, ['ok', 'name_conflict', 'ok', 'out_of_sequence', 'ok', 'ok', outcome[6]]);
      const version = (i: number) => (results[i] as PromiseFulfilledResult<{ version: number }>).value.version;
      assert.equal(version(0), version(2), 'the two creates did not share a transaction');
      assert.equal(version(0), version(4), "the update did not share the creates' transaction");
      // The delete and the create of its name touch one name: they never share a transaction,
      // so the create either saw the name taken or free, never both.
      const names = (await store.findSecrets({})).map((s) => s.name).sort();
      assert.deepEqual(names, outcome[6] === 'ok' ? ['DOOMED', 'g-one', 'g-two', 'taken'] : ['g-one', 'g-two', 'taken']);
      assert.deepEqual((await store.getSecret(taken.id))?.labels, { v: 'new' });
      const one = await store.findSecrets({ names: ['g-one'] });
      assert.ok(one[0] && (await store.getSecret(one[0].id))?.sealed, 'a grouped create lost its value');
    } finally {
      await store.close();
    }
  });
  test('reads that arrive together share one revision check; a read that arrives after a check was sent gets another', async () => {
    const store = await connect();
    try {
      const s = await store.createSecret({ id: newId(), name: 'shared-check', labels: {}, sealed: Buffer.from('v'), createdAt: rfc3339Nano() });
      await store.findSecrets({}); // the cache is live and has applied the create
      const before = store.revisionChecks;
      const together = await Promise.all(
        Array.from({ length: 64 }, (_, i) => (i % 2 ? store.getSecret(s.id) : store.findSecrets({ names: ['shared-check'] }))),
      );
      assert.equal(store.reads.direct, 0, 'a read went to etcd directly: the cache was not live');
      assert.equal(store.revisionChecks - before, 1, 'reads issued in one turn were split over several checks');
      assert.ok(together.every((r) => (Array.isArray(r) ? r[0]?.id : r?.id) === s.id));
      // One read, then another once the first one's check has been sent: it cannot use that one.
      const first = store.findSecrets({});
      for (const deadline = Date.now() + 5000; store.revisionChecks - before < 2; ) {
        assert.ok(Date.now() < deadline, "the first read's check was never sent");
        await new Promise((r) => setImmediate(r));
      }
      const second = store.findSecrets({});
      await Promise.all([first, second]);
      assert.equal(store.revisionChecks - before, 3, 'a read shared a check sent before it arrived');
    } finally {
      await store.close();
    }
  });

  test('different prefixes are different deployments', async () => {
    const [a, b] = [await connect(), await connect()];
    try {
      await a.createSecret({ id: newId(), name: 'same', labels: {}, createdAt: rfc3339Nano() });
      await b.createSecret({ id: newId(), name: 'same', labels: {}, createdAt: rfc3339Nano() });
      await a.leaveSwarm({ state: 'inactive' });
      assert.equal((await b.findSecrets({})).length, 1);
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('initSwarm lets exactly one of several concurrent inits win', async () => {
    const prefix = freshPrefix();
    const stores = [await connect(prefix), await connect(prefix), await connect(prefix)];
    try {
      const results = await Promise.allSettled(stores.map((s) => s.initSwarm(active())));
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
      for (const r of results) if (r.status === 'rejected') assert.equal(r.reason.code, 'already_in_swarm');
      await stores[0]!.leaveSwarm({ state: 'inactive' });
      assert.ok((await stores[1]!.initSwarm(active())) > 0, 'after a leave, init works again');
    } finally {
      for (const s of stores) await s.close();
    }
  });

  test('watchSwarm reports a swarm change made through another store', async () => {
    const prefix = freshPrefix();
    const [a, b] = [await connect(prefix), await connect(prefix)];
    try {
      const seen: SwarmRecord[] = [];
      await b.watchSwarm((s) => seen.push(s));
      const version = await a.writeSwarm(active());
      await a.leaveSwarm({ state: 'inactive' });
      const deadline = Date.now() + 5000;
      while (seen.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(
        seen.map((s) => s.state),
        ['active', 'inactive'],
      );
      assert.equal(seen[0]!.cluster?.version, version);
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('keyringCheck keeps the first value stored and returns it to later callers', async () => {
    const prefix = freshPrefix();
    const [a, b] = [await connect(prefix), await connect(prefix)];
    try {
      assert.deepEqual(Buffer.from(await a.keyringCheck(Buffer.from('first'))), Buffer.from('first'));
      assert.deepEqual(Buffer.from(await b.keyringCheck(Buffer.from('second'))), Buffer.from('first'));
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('connect to an etcd that does not answer fails fast with StoreUnavailable', async () => {
    const started = Date.now();
    await assert.rejects(EtcdStore.connect({ endpoints: ['127.0.0.1:1'], timeoutMs: 1000 }), (e: unknown) => {
      assert.equal((e as { code?: string }).code, 'unavailable');
      assert.match((e as Error).message, /etcd at 127\.0\.0\.1:1/);
      return true;
    });
    assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
  });
});
