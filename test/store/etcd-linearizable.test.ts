/**
 * EtcdStore reads are linearizable although they are answered from a watch-fed cache: a write
 * acknowledged through store A (one daemon) is seen by every read through store B (another
 * daemon, its own etcd client and watch) that starts after the acknowledgement. The test fails
 * against a cache that answers without waiting for the revision of the last change (checked
 * once by disabling the wait): B's watch event for a write arrives after A's acknowledgement.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { rfc3339Nano } from '../../src/core/clock.ts';
import { newId } from '../../src/core/ids.ts';
import { EtcdStore } from '../../src/store/etcd.ts';
import { etcdMissing, startEtcd, type EtcdCluster } from '../helpers/etcd.ts';

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
  assert.deepEqual(
    (await b.findSecrets({ names: [name] })).map((s) => s.id),
    [created.id],
    `${name}: not found by name through B`,
  );

  const updated = await a.updateSecretLabels(created.id, created.version, { step: 'updated' }, rfc3339Nano());
  const afterUpdate = await b.getSecret(created.id);
  assert.equal(afterUpdate?.version, updated.version, `${name}: B reads a version older than the update acknowledged through A`);
  const byLabel = await b.findSecrets({ namePrefixes: [name], labels: new Map([['step', 'updated']]) });
  assert.deepEqual(
    byLabel.map((s) => s.version),
    [updated.version],
    `${name}: B's label filter misses the update`,
  );

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
      await Promise.all(
        Array.from({ length: 8 }, async (_, w) => {
          for (let i = 0; i < 40; i++) await writeThenRead(a, b, `w${w}-${i}`);
        }),
      );
      // The reads were the cache's (a store that read etcd every time would pass trivially).
      assert.ok(b.reads.cached > 0.9 * (b.reads.cached + b.reads.direct), `B answered ${b.reads.cached} reads from its cache, ${b.reads.direct} from etcd`);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
