/**
 * The Store contract for value versions (rotate, rollback, the kept values key rotation walks)
 * and the recovery window (remove, find, restore, purge), for every backend: call
 * `versionsContract(name, open)` next to `storeContract` in a backend's test file.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { rfc3339Nano } from '../../src/core/clock.ts';
import { newId } from '../../src/core/ids.ts';
import type { SecretRecord } from '../../src/secrets/types.ts';
import type { KeptValue, NewValueVersion, Store } from '../../src/store/types.ts';
import { activeSwarm, listed, newSecret, rejectsWith, snapshot, type OpenStore } from './contract.ts';

const METHODS = [
  'listValueVersions',
  'valueVersion',
  'rotateValue',
  'rollbackValue',
  'keptValuesPage',
  'replaceKeptValues',
  'removeToRecovery',
  'findRemoved',
  'restoreRemoved',
  'purgeRemoved',
  'expiredRemoved',
] as const satisfies readonly (keyof Store)[];

/** Plenty: no version is dropped unless a test asks for it. */
const KEEP_ALL = 100;

/** A new value as a caller seals it: fresh random bytes every time, as real seals are. */
function value(version: number): NewValueVersion {
  return { version, createdAt: rfc3339Nano(), sealed: randomBytes(24) };
}

/** Times with one fixed precision (milliseconds), so they compare as text; `s` seconds from now. */
const at = (s: number) => new Date(Date.now() + s * 1000).toISOString();

/** Every kept value in the store, walked with `keptValuesPage` pages of `limit`. */
async function allKept(store: Store, limit = 3): Promise<KeptValue[]> {
  const out: KeptValue[] = [];
  for (let page = await store.keptValuesPage(undefined, limit); page.length > 0; ) {
    out.push(...page);
    const last = page.at(-1)!;
    page = await store.keptValuesPage({ secretId: last.secretId, version: last.version }, limit);
  }
  return out;
}

const keptOf = async (store: Store, id: string) => (await allKept(store, 50)).filter((k) => k.secretId === id);
const numbers = (infos: { version: number }[] | undefined) => infos?.map((i) => i.version);

/** Everything the store says about one secret, to show that a refused write changed nothing. */
async function stateOf(store: Store, id: string): Promise<string> {
  const kept = (await keptOf(store, id)).map((k) => ({ ...k, sealed: Buffer.from(k.sealed).toString('hex') }));
  const secret = await store.getSecret(id);
  return JSON.stringify({
    secret: secret && { ...secret, sealed: secret.sealed && Buffer.from(secret.sealed).toString('hex') },
    versions: await store.listValueVersions(id),
    kept,
    removed: await store.findRemoved(id),
  });
}

/** Rotates `id` to the next version, reading the latest number first (as the service does). */
async function rotateNext(store: Store, id: string, keep = KEEP_ALL) {
  const s = (await store.getSecret(id))!;
  const next = value((s.latestValueVersion ?? 1) + 1);
  return { next, ...(await store.rotateValue(id, next, keep, rfc3339Nano())) };
}

const same = (a: Uint8Array | undefined, b: Uint8Array | undefined) => a !== undefined && b !== undefined && Buffer.from(a).equals(Buffer.from(b));

export function versionsContract(name: string, open: OpenStore): void {
  async function withStore(fn: (store: Store) => Promise<void>): Promise<void> {
    const { store, cleanup } = await open();
    try {
      await fn(store);
    } finally {
      await cleanup();
    }
  }

  describe(`Store contract, value versions and recovery: ${name}`, () => {
    test('matches the interface', () =>
      withStore(async (store) => {
        for (const method of METHODS) assert.equal(typeof store[method], 'function', method);
      }));

    describe('rotateValue', () => {
      test('rotate takes the next store version and returns the record with the new value and its version numbers', () =>
        withStore(async (store) => {
          const created = await store.createSecret(newSecret('rot', { labels: { a: 'b' } }));
          const next = value(2);
          const updatedAt = rfc3339Nano();
          const { secret, dropped } = await store.rotateValue(created.id, next, KEEP_ALL, updatedAt);
          assert.deepEqual(dropped, []);
          assert.ok(secret.version > created.version, `${secret.version} after ${created.version}`);
          assert.ok(same(secret.sealed, next.sealed));
          assert.equal(secret.valueVersion, 2);
          assert.equal(secret.latestValueVersion, 2);
          assert.equal(secret.valueCreatedAt, next.createdAt);
          assert.equal(secret.updatedAt, updatedAt);
          assert.equal(secret.createdAt, created.createdAt);
          assert.deepEqual(secret.labels, { a: 'b' });
          assert.deepEqual(await store.getSecret(created.id), secret);
          assert.deepEqual(await store.findSecrets({ names: ['ROT'] }), [listed(secret)]);
          assert.deepEqual(await store.findSecrets({}), [listed(secret)]);
          const later = await store.createSecret(newSecret('later'));
          assert.ok(later.version > secret.version, 'the counter moved on');
        }));

      test('a secret never rotated has one version, 1, current, stored when it was created', () =>
        withStore(async (store) => {
          const created = await store.createSecret(newSecret('fresh'));
          assert.equal(created.valueVersion, undefined);
          assert.deepEqual(await store.listValueVersions(created.id), [{ version: 1, createdAt: created.createdAt, current: true }]);
          const v1 = await store.valueVersion(created.id, 1);
          assert.ok(v1 && same(v1.sealed, created.sealed));
          assert.equal(v1.createdAt, created.createdAt);
          assert.equal(await store.valueVersion(created.id, 2), undefined);
          assert.equal(await store.listValueVersions(newId()), undefined);
          assert.equal(await store.valueVersion(newId(), 1), undefined);
        }));

      test('listValueVersions lists every version in ascending order with exactly one current; valueVersion has their bytes', () =>
        withStore(async (store) => {
          const created = await store.createSecret(newSecret('many'));
          const values = [created.sealed!];
          const times = [created.createdAt];
          for (let v = 2; v <= 4; v++) {
            const { next } = await rotateNext(store, created.id);
            values.push(next.sealed);
            times.push(next.createdAt);
          }
          const versions = await store.listValueVersions(created.id);
          assert.deepEqual(
            versions,
            [1, 2, 3, 4].map((v) => ({ version: v, createdAt: times[v - 1], current: v === 4 })),
          );
          for (let v = 1; v <= 4; v++) {
            const got = await store.valueVersion(created.id, v);
            assert.ok(got && same(got.sealed, values[v - 1]), `version ${v}`);
            assert.deepEqual({ version: got.version, createdAt: got.createdAt }, { version: v, createdAt: times[v - 1] });
          }
          assert.equal(await store.valueVersion(created.id, 5), undefined);
          assert.equal(await store.valueVersion(created.id, 0), undefined);
        }));

      test('rotate with a stale or a future version number rejects OutOfSequence and changes nothing', () =>
        withStore(async (store) => {
          const created = await store.createSecret(newSecret('stale'));
          await rotateNext(store, created.id); // latest is now 2
          const before = await stateOf(store, created.id);
          for (const v of [2, 1, 0, 4, 10]) {
            await rejectsWith(store.rotateValue(created.id, value(v), KEEP_ALL, rfc3339Nano()), 'out_of_sequence');
          }
          assert.equal(await stateOf(store, created.id), before);
          const { secret } = await store.rotateValue(created.id, value(3), KEEP_ALL, rfc3339Nano());
          assert.equal(secret.valueVersion, 3, 'a refused rotate does not hold back the right one');
        }));

      test('rotate of an unknown secret rejects with not_found', () =>
        withStore(async (store) => {
          await rejectsWith(store.rotateValue(newId(), value(2), KEEP_ALL, rfc3339Nano()), 'not_found');
        }));

      test('concurrent rotates with the same next number: exactly one wins, the others are OutOfSequence', () =>
        withStore(async (store) => {
          const created = await store.createSecret(newSecret('race'));
          const contenders = Array.from({ length: 6 }, () => value(2));
          const results = await Promise.allSettled(contenders.map((c) => store.rotateValue(created.id, c, KEEP_ALL, rfc3339Nano())));
          const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
          assert.equal(won.length, 1, `winners: ${won}`);
          for (const r of results) if (r.status === 'rejected') assert.equal(r.reason.code, 'out_of_sequence');
          const now = await store.getSecret(created.id);
          assert.ok(same(now?.sealed, contenders[won[0]!]!.sealed), "the winner's value is current");
          assert.deepEqual(numbers(await store.listValueVersions(created.id)), [1, 2]);
          assert.equal((await keptOf(store, created.id)).length, 1, 'only version 1 is kept apart');
        }));

      test('the keep limit drops the lowest numbers, and their bytes are gone', () =>
        withStore(async (store) => {
          const created = await store.createSecret(newSecret('keep'));
          const bytes = new Map<number, Uint8Array>([[1, created.sealed!]]);
          const droppedAll: number[] = [];
          for (let v = 2; v <= 6; v++) {
            const { next, dropped, secret } = await rotateNext(store, created.id, 3);
            bytes.set(v, next.sealed);
            droppedAll.push(...dropped);
            assert.equal(secret.valueVersion, v);
            assert.deepEqual(dropped, v >= 4 ? [v - 3] : [], `rotate to ${v}`);
          }
          assert.deepEqual(droppedAll, [1, 2, 3]);
          assert.deepEqual(numbers(await store.listValueVersions(created.id)), [4, 5, 6]);
          for (const v of [1, 2, 3]) assert.equal(await store.valueVersion(created.id, v), undefined, `version ${v}`);
          const kept = await keptOf(store, created.id);
          assert.deepEqual(numbers(kept), [4, 5]);
          const everywhere = await allKept(store);
          for (const v of [1, 2, 3]) assert.ok(!everywhere.some((k) => same(k.sealed, bytes.get(v))), `bytes of ${v} are gone`);
        }));

      test('keep 1 keeps only the new current value', () =>
        withStore(async (store) => {
          const created = await store.createSecret(newSecret('one'));
          const { dropped } = await rotateNext(store, created.id, 1);
          assert.deepEqual(dropped, [1]);
          assert.deepEqual(await store.listValueVersions(created.id), [
            { version: 2, createdAt: (await store.getSecret(created.id))!.valueCreatedAt, current: true },
          ]);
          assert.deepEqual(await keptOf(store, created.id), []);
        }));

      test('racing rotates never leave more than `keep` versions, and numbers stay unique and gapless', () =>
        withStore(async (store) => {
          const created = await store.createSecret(newSecret('crowd'));
          const keep = 2;
          let wins = 0;
          const worker = async () => {
            for (let done = 0; done < 3; ) {
              try {
                await rotateNext(store, created.id, keep);
                done++;
                wins++;
              } catch (e) {
                assert.equal((e as { code?: string }).code, 'out_of_sequence');
              }
              const versions = (await store.listValueVersions(created.id))!;
              assert.ok(versions.length <= keep, `${versions.length} versions kept`);
              assert.equal(versions.filter((v) => v.current).length, 1);
            }
          };
          await Promise.all([worker(), worker(), worker(), worker()]);
          const last = (await store.getSecret(created.id))!;
          assert.equal(last.latestValueVersion, 1 + wins);
          assert.deepEqual(numbers(await store.listValueVersions(created.id)), [wins, wins + 1]);
          assert.deepEqual(numbers(await keptOf(store, created.id)), [wins]);
        }));

      test('rotate keeps labels and other secrets alone, and a labels update keeps the value versions', () =>
        withStore(async (store) => {
          const other = await store.createSecret(newSecret('other'));
          const created = await store.createSecret(newSecret('mine', { labels: { x: '1' } }));
          const { secret } = await rotateNext(store, created.id);
          const relabelled = await store.updateSecretLabels(created.id, secret.version, { x: '2' }, rfc3339Nano());
          assert.equal(relabelled.valueVersion, 2);
          assert.equal(relabelled.latestValueVersion, 2);
          assert.equal(relabelled.valueCreatedAt, secret.valueCreatedAt);
          assert.ok(same(relabelled.sealed, secret.sealed));
          assert.deepEqual(await store.getSecret(created.id), relabelled);
          assert.deepEqual(await store.getSecret(other.id), other);
          assert.deepEqual(await store.listValueVersions(other.id), [{ version: 1, createdAt: other.createdAt, current: true }]);
        }));
    });

    describe('rollbackValue', () => {
      test('rollback makes an old version current, keeps the one it replaced, and never reuses numbers', () =>
        withStore(async (store) => {
          const created = await store.createSecret(newSecret('back'));
          const r2 = await rotateNext(store, created.id);
          const r3 = await rotateNext(store, created.id);
          const updatedAt = rfc3339Nano();
          const back = await store.rollbackValue(created.id, 1, updatedAt);
          assert.ok(back.version > r3.secret.version);
          assert.ok(same(back.sealed, created.sealed));
          assert.equal(back.valueVersion, 1);
          assert.equal(back.latestValueVersion, 3);
          assert.equal(back.valueCreatedAt, created.createdAt);
          assert.equal(back.updatedAt, updatedAt);
          assert.deepEqual(await store.getSecret(created.id), back);
          assert.deepEqual(await store.listValueVersions(created.id), [
            { version: 1, createdAt: created.createdAt, current: true },
            { version: 2, createdAt: r2.next.createdAt, current: false },
            { version: 3, createdAt: r3.next.createdAt, current: false },
          ]);
          const v3 = await store.valueVersion(created.id, 3);
          assert.ok(v3 && same(v3.sealed, r3.next.sealed), 'the replaced value is kept');
          await rejectsWith(store.rotateValue(created.id, value(2), KEEP_ALL, rfc3339Nano()), 'out_of_sequence');
          const { secret } = await store.rotateValue(created.id, value(4), KEEP_ALL, rfc3339Nano());
          assert.equal(secret.valueVersion, 4, 'after a rollback the next number is latest + 1');
          assert.deepEqual(numbers(await store.listValueVersions(created.id)), [1, 2, 3, 4]);
          const again = await store.rollbackValue(created.id, 2, rfc3339Nano());
          assert.ok(same(again.sealed, r2.next.sealed));
          assert.equal(again.latestValueVersion, 4);
        }));

      test('rollback to a dropped or never issued version rejects VersionNotFound and changes nothing', () =>
        withStore(async (store) => {
          const created = await store.createSecret(newSecret('gone'));
          await rotateNext(store, created.id, 2);
          await rotateNext(store, created.id, 2); // version 1 dropped
          const before = await stateOf(store, created.id);
          for (const v of [1, 4, 99, 0]) {
            await assert.rejects(store.rollbackValue(created.id, v, rfc3339Nano()), (e: unknown) => {
              assert.equal((e as { code?: string }).code, 'not_found');
              assert.equal((e as Error).name, 'VersionNotFound');
              return true;
            });
          }
          assert.equal(await stateOf(store, created.id), before);
        }));

      test('rollback to the current version resolves with the record unchanged', () =>
        withStore(async (store) => {
          const fresh = await store.createSecret(newSecret('never'));
          assert.deepEqual(await store.rollbackValue(fresh.id, 1, rfc3339Nano()), fresh);
          const created = await store.createSecret(newSecret('now'));
          const { secret } = await rotateNext(store, created.id);
          const before = await stateOf(store, created.id);
          assert.deepEqual(await store.rollbackValue(created.id, 2, rfc3339Nano()), secret);
          assert.equal(await stateOf(store, created.id), before);
        }));

      test('rollback of an unknown secret rejects SecretNotFound', () =>
        withStore(async (store) => {
          await assert.rejects(store.rollbackValue(newId(), 1, rfc3339Nano()), (e: unknown) => {
            assert.equal((e as { code?: string }).code, 'not_found');
            assert.equal((e as Error).name, 'SecretNotFound');
            return true;
          });
        }));
    });

    describe('kept values', () => {
      test('sealedPage names the value version of a rotated current value, and none for version 1', () =>
        withStore(async (store) => {
          const plain = await store.createSecret(newSecret('plain'));
          const rotated = await store.createSecret(newSecret('rotated'));
          await rotateNext(store, rotated.id);
          await rotateNext(store, rotated.id);
          const page = await store.sealedPage('', 10);
          const byId = new Map(page.map((e) => [e.id, e]));
          assert.equal(byId.get(plain.id)?.valueVersion, undefined);
          assert.equal(byId.get(rotated.id)?.valueVersion, 3);
        }));

      test('deleteSecret removes the kept values with the secret', () =>
        withStore(async (store) => {
          const created = await store.createSecret(newSecret('del'));
          const other = await store.createSecret(newSecret('stays'));
          await rotateNext(store, created.id);
          await rotateNext(store, created.id);
          await rotateNext(store, other.id);
          assert.equal(await store.deleteSecret(created.id), true);
          assert.deepEqual(await keptOf(store, created.id), []);
          assert.equal(await store.listValueVersions(created.id), undefined);
          assert.equal(await store.valueVersion(created.id, 1), undefined);
          assert.deepEqual(numbers(await keptOf(store, other.id)), [1], "another secret's values stay");
        }));

      test('keptValuesPage walks every non-current value in (secretId, version) order, page by page', () =>
        withStore(async (store) => {
          const want: KeptValue[] = [];
          for (const [i, rotations] of [2, 0, 3, 1].entries()) {
            const created = await store.createSecret(newSecret(`page${i}`));
            let sealed = created.sealed!;
            let createdAt = created.createdAt;
            for (let r = 0; r < rotations; r++) {
              want.push({ secretId: created.id, secretCreatedAt: created.createdAt, version: r + 1, createdAt, sealed });
              const { next } = await rotateNext(store, created.id);
              [sealed, createdAt] = [next.sealed, next.createdAt];
            }
          }
          want.sort((a, b) => (a.secretId < b.secretId ? -1 : a.secretId > b.secretId ? 1 : a.version - b.version));
          const norm = (ks: KeptValue[]) => ks.map((k) => ({ ...k, sealed: Buffer.from(k.sealed).toString('hex') }));
          for (const limit of [1, 2, 4, 100]) assert.deepEqual(norm(await allKept(store, limit)), norm(want), `pages of ${limit}`);
          assert.equal((await store.keptValuesPage(undefined, 2)).length, 2);
          const last = want.at(-1)!;
          assert.deepEqual(await store.keptValuesPage({ secretId: last.secretId, version: last.version }, 10), []);
          // A cursor inside one secret's versions goes on with its next version.
          const first = want[0]!;
          const afterFirst = await store.keptValuesPage({ secretId: first.secretId, version: first.version }, 1);
          assert.deepEqual(norm(afterFirst), norm([want[1]!]));
        }));

      test('replaceKeptValues applies only where the bytes are still `from`, and changes nothing else', () =>
        withStore(async (store) => {
          const created = await store.createSecret(newSecret('rewrap'));
          const { secret } = await rotateNext(store, created.id);
          const versionsBefore = await store.listValueVersions(created.id);
          const to = randomBytes(24);
          assert.equal(await store.replaceKeptValues([]), 0);
          assert.equal(
            await store.replaceKeptValues([
              { secretId: created.id, version: 1, from: created.sealed!, to },
              { secretId: created.id, version: 7, from: created.sealed!, to }, // never issued
              { secretId: newId(), version: 1, from: created.sealed!, to }, // no such secret
              { secretId: created.id, version: 2, from: secret.sealed!, to }, // the current value is not a kept one
            ]),
            1,
          );
          assert.ok(same((await store.valueVersion(created.id, 1))?.sealed, to));
          assert.deepEqual(await store.getSecret(created.id), secret, 'the record and its version stay');
          assert.deepEqual(await store.listValueVersions(created.id), versionsBefore);
          assert.equal(await store.replaceKeptValues([{ secretId: created.id, version: 1, from: created.sealed!, to: randomBytes(24) }]), 0, 'stale from');
          assert.ok(same((await store.valueVersion(created.id, 1))?.sealed, to));
        }));

      test('concurrent replaceKeptValues of one value from the same bytes: exactly one applies', () =>
        withStore(async (store) => {
          const created = await store.createSecret(newSecret('both'));
          await rotateNext(store, created.id);
          const tos = [randomBytes(24), randomBytes(24), randomBytes(24)];
          const applied = await Promise.all(tos.map((to) => store.replaceKeptValues([{ secretId: created.id, version: 1, from: created.sealed!, to }])));
          assert.equal(
            applied.reduce((a, b) => a + b, 0),
            1,
          );
          const now = (await store.valueVersion(created.id, 1))!.sealed;
          assert.equal(tos.filter((t) => same(t, now)).length, 1);
        }));
    });

    describe('the recovery window', () => {
      test('removeToRecovery hides the secret from every read and frees its name at once', () =>
        withStore(async (store) => {
          const created = await store.createSecret(newSecret('Hidden'));
          const { secret } = await rotateNext(store, created.id);
          assert.equal(await store.removeToRecovery(created.id, at(0), at(60)), true);
          assert.equal(await store.getSecret(created.id), undefined);
          assert.deepEqual(await store.findSecrets({}), []);
          assert.deepEqual(await store.findSecrets({ names: ['hidden'] }), []);
          assert.deepEqual(await store.findSecrets({ idPrefixes: [created.id.slice(0, 6)] }), []);
          assert.deepEqual(await store.findSecrets({ namePrefixes: ['hid'] }), []);
          assert.equal(await store.listValueVersions(created.id), undefined);
          assert.equal(await store.valueVersion(created.id, 2), undefined);
          await rejectsWith(store.rotateValue(created.id, value(3), KEEP_ALL, rfc3339Nano()), 'not_found');
          await rejectsWith(store.rollbackValue(created.id, 1, rfc3339Nano()), 'not_found');
          await rejectsWith(store.updateSecretLabels(created.id, secret.version, {}, rfc3339Nano()), 'not_found');
          assert.equal(await store.deleteSecret(created.id), false, 'delete does not reach into the recovery window');
          assert.equal((await store.findRemoved(created.id)).length, 1);
          assert.deepEqual(numbers(await keptOf(store, created.id)), [1, 2], 'its values wait, sealed, among the kept ones');
          assert.equal((await store.sealedPage('', 100)).length, 0, 'no longer a live sealed value');
          const reused = await store.createSecret(newSecret('HIDDEN'));
          assert.deepEqual(await store.findSecrets({ names: ['hidden'] }), [listed(reused)]);
          assert.equal(await store.removeToRecovery(created.id, at(0), at(60)), false, 'already removed');
          assert.equal(await store.removeToRecovery(newId(), at(0), at(60)), false);
        }));

      test('a removed secret is in no label lookup; restored, it is again', () =>
        withStore(async (store) => {
          const created = await store.createSecret(newSecret('labelled', { labels: { team: 'a', env: 'prod' } }));
          await store.createSecret(newSecret('other', { labels: { team: 'b' } }));
          const byLabel = async () => (await store.findSecrets({ labels: new Map([['team', 'a']]) })).map((s) => s.id);
          const byKey = async () => (await store.findSecrets({ namePrefixes: ['lab'], labels: new Map([['env', '']]) })).map((s) => s.id);
          assert.deepEqual(await byLabel(), [created.id]);
          await store.removeToRecovery(created.id, at(0), at(60));
          assert.deepEqual(await byLabel(), []);
          assert.deepEqual(await byKey(), []);
          await store.restoreRemoved(created.id, rfc3339Nano());
          assert.deepEqual(await byLabel(), [created.id]);
          assert.deepEqual(await byKey(), [created.id]);
        }));

      test('findRemoved finds by ID and by name in any case, most recently removed first', () =>
        withStore(async (store) => {
          const first = await store.createSecret(newSecret('app', { labels: { n: '1' } }));
          const firstRotated = (await rotateNext(store, first.id)).secret;
          await store.removeToRecovery(first.id, at(-20), at(40));
          const second = await store.createSecret(newSecret('APP', { labels: { n: '2' } }));
          await store.removeToRecovery(second.id, at(-10), at(50));
          const other = await store.createSecret(newSecret('application'));
          await store.removeToRecovery(other.id, at(-5), at(55));
          const live = await store.createSecret(newSecret('aPp'));
          const found = await store.findRemoved('App');
          assert.deepEqual(
            found.map((r) => r.secret),
            [listed(second), listed(firstRotated)],
          );
          assert.ok(found[0]!.removedAt > found[1]!.removedAt);
          assert.deepEqual(
            (await store.findRemoved(first.id)).map((r) => r.secret.id),
            [first.id],
          );
          assert.deepEqual(await store.findRemoved(first.id.slice(0, 10)), [], 'no ID prefixes');
          assert.deepEqual(await store.findRemoved('ap'), [], 'no name prefixes');
          assert.deepEqual(await store.findRemoved(live.id), [], 'a live secret is not removed');
          assert.deepEqual(await store.findRemoved(''), []);
          const all = await store.findRemoved(undefined);
          assert.deepEqual(
            all.map((r) => r.secret.id),
            [other.id, second.id, first.id],
            'undefined: every removed secret, newest removal first',
          );
        }));

      test('findRemoved returns removedAt and purgeAfter as given', () =>
        withStore(async (store) => {
          const created = await store.createSecret(newSecret('times'));
          const [removedAt, purgeAfter] = [at(0), at(3600)];
          await store.removeToRecovery(created.id, removedAt, purgeAfter);
          assert.deepEqual(await store.findRemoved('TIMES'), [{ secret: listed(created), removedAt, purgeAfter }]);
        }));

      test('restoreRemoved brings back the same record, values and versions with a new store version', () =>
        withStore(async (store) => {
          const created = await store.createSecret(
            newSecret('back', { labels: { team: 'a' }, driver: { Name: 'file', Options: { path: 'x' } }, templating: { Name: 'golang' } }),
          );
          await rotateNext(store, created.id);
          await rotateNext(store, created.id);
          const current = await store.rollbackValue(created.id, 2, rfc3339Nano());
          const versions = await store.listValueVersions(created.id);
          const bytes = await Promise.all([1, 2, 3].map((v) => store.valueVersion(created.id, v)));
          await store.removeToRecovery(created.id, at(0), at(60));
          const updatedAt = rfc3339Nano();
          const restored = await store.restoreRemoved(created.id, updatedAt);
          assert.ok(restored.version > current.version);
          assert.deepEqual(restored, { ...current, version: restored.version, updatedAt });
          assert.deepEqual(await store.getSecret(created.id), restored);
          assert.deepEqual(await store.findSecrets({ names: ['BACK'] }), [listed(restored)]);
          assert.deepEqual(await store.listValueVersions(created.id), versions);
          assert.deepEqual(await Promise.all([1, 2, 3].map((v) => store.valueVersion(created.id, v))), bytes);
          assert.deepEqual(numbers(await keptOf(store, created.id)), [1, 3], 'the current value is live again, not kept apart');
          assert.deepEqual(
            (await store.sealedPage('', 10)).map((e) => e.id),
            [created.id],
          );
          assert.deepEqual(await store.findRemoved(created.id), []);
          await rejectsWith(store.createSecret(newSecret('Back')), 'name_conflict');
          await rejectsWith(store.restoreRemoved(created.id, rfc3339Nano()), 'not_found');
          const { secret } = await store.rotateValue(created.id, value(4), KEEP_ALL, rfc3339Nano());
          assert.equal(secret.valueVersion, 4, 'numbering goes on after a restore');
        }));

      test('restore is refused with NameConflict when the name was taken meanwhile, and changes nothing', () =>
        withStore(async (store) => {
          const created = await store.createSecret(newSecret('taken'));
          await rotateNext(store, created.id);
          await store.removeToRecovery(created.id, at(0), at(60));
          const squatter = await store.createSecret(newSecret('TAKEN'));
          const before = [await stateOf(store, created.id), await stateOf(store, squatter.id), await snapshot(store)];
          await rejectsWith(store.restoreRemoved(created.id, rfc3339Nano()), 'name_conflict');
          assert.deepEqual([await stateOf(store, created.id), await stateOf(store, squatter.id), await snapshot(store)], before);
          assert.equal(await store.deleteSecret(squatter.id), true);
          const restored = await store.restoreRemoved(created.id, rfc3339Nano());
          assert.equal(restored.name, 'taken');
        }));

      test('restore of a secret not in recovery rejects with not_found', () =>
        withStore(async (store) => {
          const live = await store.createSecret(newSecret('live'));
          await rejectsWith(store.restoreRemoved(live.id, rfc3339Nano()), 'not_found');
          await rejectsWith(store.restoreRemoved(newId(), rfc3339Nano()), 'not_found');
          assert.deepEqual(await store.getSecret(live.id), live);
        }));

      test('a secret without a sealed value is removed and restored without one', () =>
        withStore(async (store) => {
          const created = await store.createSecret(newSecret('driven', { sealed: undefined, driver: { Name: 'env' } }));
          assert.equal(created.sealed, undefined);
          await store.removeToRecovery(created.id, at(0), at(60));
          assert.deepEqual(await keptOf(store, created.id), []);
          const restored = await store.restoreRemoved(created.id, rfc3339Nano());
          assert.equal(restored.sealed, undefined);
          assert.deepEqual(await store.getSecret(created.id), restored);
        }));

      test('purgeRemoved deletes a removed secret and all its values for good', () =>
        withStore(async (store) => {
          const created = await store.createSecret(newSecret('purge'));
          await rotateNext(store, created.id);
          const live = await store.createSecret(newSecret('live'));
          await rotateNext(store, live.id);
          await store.removeToRecovery(created.id, at(0), at(60));
          assert.equal(await store.purgeRemoved(live.id), false, 'a live secret is not purged');
          assert.deepEqual(numbers(await keptOf(store, live.id)), [1], 'and keeps its values');
          assert.equal(await store.purgeRemoved(created.id), true);
          assert.deepEqual(await store.findRemoved(created.id), []);
          assert.deepEqual(await store.findRemoved('purge'), []);
          assert.deepEqual(await keptOf(store, created.id), []);
          assert.deepEqual(await store.expiredRemoved(at(3600), 10), []);
          await rejectsWith(store.restoreRemoved(created.id, rfc3339Nano()), 'not_found');
          assert.equal(await store.purgeRemoved(created.id), false);
          assert.equal(await store.purgeRemoved(newId()), false);
        }));

      test('expiredRemoved returns only the removed secrets that are due, soonest first, up to the limit', () =>
        withStore(async (store) => {
          const due = new Map<string, string>();
          for (const [n, s] of [
            ['late', 30],
            ['first', 10],
            ['second', 20],
            ['kept-live', 0],
          ] as const) {
            const created = await store.createSecret(newSecret(n));
            if (n === 'kept-live') continue;
            due.set(n, at(s));
            await store.removeToRecovery(created.id, at(0), due.get(n)!);
          }
          const names = (rs: { secret: SecretRecord }[]) => rs.map((r) => r.secret.name);
          assert.deepEqual(names(await store.expiredRemoved(at(-100), 10)), []);
          assert.deepEqual(names(await store.expiredRemoved(at(25), 10)), ['first', 'second']);
          assert.deepEqual(names(await store.expiredRemoved(due.get('second')!, 10)), ['first', 'second'], 'due at exactly purgeAfter');
          assert.deepEqual(names(await store.expiredRemoved(at(100), 10)), ['first', 'second', 'late']);
          assert.deepEqual(names(await store.expiredRemoved(at(100), 1)), ['first']);
          const [expired] = await store.expiredRemoved(at(100), 1);
          assert.equal(expired!.purgeAfter, due.get('first'));
        }));

      test('a restored secret can be removed and restored again', () =>
        withStore(async (store) => {
          const created = await store.createSecret(newSecret('twice'));
          await store.removeToRecovery(created.id, at(0), at(60));
          await store.restoreRemoved(created.id, rfc3339Nano());
          assert.equal(await store.removeToRecovery(created.id, at(1), at(61)), true);
          assert.equal((await store.findRemoved('twice')).length, 1);
          const again = await store.restoreRemoved(created.id, rfc3339Nano());
          assert.ok(same(again.sealed, created.sealed));
        }));
    });

    describe('swarm leave', () => {
      test('leaveSwarm drops kept values and removed secrets too', () =>
        withStore(async (store) => {
          await store.writeSwarm(activeSwarm());
          const a = await store.createSecret(newSecret('a'));
          await rotateNext(store, a.id);
          const b = await store.createSecret(newSecret('b'));
          await rotateNext(store, b.id);
          await store.removeToRecovery(b.id, at(0), at(60));
          await store.leaveSwarm({ state: 'inactive' });
          assert.deepEqual(await allKept(store), []);
          assert.deepEqual(await store.findRemoved(b.id), []);
          assert.deepEqual(await store.findRemoved('b'), []);
          assert.deepEqual(await store.expiredRemoved(at(3600), 10), []);
          assert.equal(await store.listValueVersions(a.id), undefined);
        }));

      test('rotate, rollback and restore after leaveSwarm, also racing it, are refused with NotInSwarm', () =>
        withStore(async (store) => {
          await store.writeSwarm(activeSwarm());
          const a = await store.createSecret(newSecret('a'));
          await rotateNext(store, a.id);
          const b = await store.createSecret(newSecret('b'));
          await store.removeToRecovery(b.id, at(0), at(60));
          const [left, ...raced] = await Promise.allSettled([
            store.leaveSwarm({ state: 'inactive' }),
            store.rotateValue(a.id, value(3), KEEP_ALL, rfc3339Nano()),
            store.rollbackValue(a.id, 1, rfc3339Nano()),
            store.restoreRemoved(b.id, rfc3339Nano()),
          ]);
          assert.equal(left.status, 'fulfilled');
          for (const r of raced) {
            assert.equal(r.status, 'rejected');
            assert.equal((r as PromiseRejectedResult).reason.code, 'not_in_swarm');
          }
          await rejectsWith(store.rotateValue(a.id, value(3), KEEP_ALL, rfc3339Nano()), 'not_in_swarm');
          await rejectsWith(store.rollbackValue(a.id, 1, rfc3339Nano()), 'not_in_swarm');
          await rejectsWith(store.restoreRemoved(b.id, rfc3339Nano()), 'not_in_swarm');
          assert.deepEqual(await allKept(store), []);
          assert.deepEqual(await store.findSecrets({}), []);
        }));
    });

    test('after close(), every new method rejects', () =>
      withStore(async (store) => {
        const created = await store.createSecret(newSecret('closed'));
        await store.close();
        const calls: [string, () => Promise<unknown>][] = [
          ['listValueVersions', () => store.listValueVersions(created.id)],
          ['valueVersion', () => store.valueVersion(created.id, 1)],
          ['rotateValue', () => store.rotateValue(created.id, value(2), KEEP_ALL, rfc3339Nano())],
          ['rollbackValue', () => store.rollbackValue(created.id, 1, rfc3339Nano())],
          ['keptValuesPage', () => store.keptValuesPage(undefined, 10)],
          ['replaceKeptValues', () => store.replaceKeptValues([])],
          ['removeToRecovery', () => store.removeToRecovery(created.id, at(0), at(1))],
          ['findRemoved', () => store.findRemoved(created.id)],
          ['restoreRemoved', () => store.restoreRemoved(created.id, rfc3339Nano())],
          ['purgeRemoved', () => store.purgeRemoved(created.id)],
          ['expiredRemoved', () => store.expiredRemoved(at(0), 10)],
        ];
        for (const [method, call] of calls) {
          let promise: Promise<unknown>;
          try {
            promise = call();
          } catch (e) {
            assert.fail(`${method} threw synchronously instead of rejecting: ${String(e)}`);
          }
          await assert.rejects(promise, `${method} after close`);
        }
      }));

    test('random rotate, rollback, remove, restore and purge agree with a simple model', () =>
      withStore(async (store) => {
        await fc.assert(
          fc.asyncProperty(fc.array(operation, { minLength: 1, maxLength: 14 }), (ops) => modelRun(store, ops)),
          { numRuns: 30 },
        );
      }));
  });
}

// The model-based property: two secrets, keep 3, and a "squatter" that may take a removed
// secret's name (so a restore must be refused until it goes).

const KEEP = 3;

type Operation =
  | { op: 'rotate' | 'staleRotate' | 'remove' | 'restore' | 'purge' | 'squat' | 'unsquat' | 'delete'; who: number }
  | { op: 'rollback'; who: number; pick: number };

const operation: fc.Arbitrary<Operation> = fc.oneof(
  fc.record({ op: fc.constantFrom('rotate', 'rotate', 'staleRotate', 'remove', 'restore', 'purge', 'squat', 'unsquat', 'delete' as const), who: fc.nat(1) }),
  fc.record({ op: fc.constant('rollback' as const), who: fc.nat(1), pick: fc.nat(7) }),
);

interface Modelled {
  id: string;
  name: string;
  state: 'live' | 'removed' | 'gone';
  current: number;
  latest: number;
  /** Version → sealed bytes, the current one included. */
  values: Map<number, Uint8Array>;
  squatter?: string;
}

async function modelRun(store: Store, ops: Operation[]): Promise<void> {
  const secrets: Modelled[] = [];
  for (let i = 0; i < 2; i++) {
    const created = await store.createSecret(newSecret(`m-${newId().slice(0, 8)}`));
    secrets.push({ id: created.id, name: created.name, state: 'live', current: 1, latest: 1, values: new Map([[1, created.sealed!]]) });
  }
  for (const o of ops) {
    const m = secrets[o.who]!;
    const code = async (p: Promise<unknown>) =>
      p.then(
        () => 'ok',
        (e: { code?: string }) => e.code ?? String(e),
      );
    switch (o.op) {
      case 'rotate': {
        const next = value(m.latest + 1);
        const got = await code(store.rotateValue(m.id, next, KEEP, rfc3339Nano()));
        assert.equal(got, m.state === 'live' ? 'ok' : 'not_found', JSON.stringify(o));
        if (m.state !== 'live') break;
        m.values.set(next.version, next.sealed);
        m.current = m.latest = next.version;
        const numbersKept = [...m.values.keys()].sort((a, b) => a - b);
        for (const v of numbersKept.slice(0, Math.max(0, numbersKept.length - KEEP))) m.values.delete(v);
        break;
      }
      case 'staleRotate':
        assert.equal(await code(store.rotateValue(m.id, value(m.latest), KEEP, rfc3339Nano())), m.state === 'live' ? 'out_of_sequence' : 'not_found');
        break;
      case 'rollback': {
        const v = o.pick;
        const want = m.state !== 'live' ? 'not_found' : v === m.current || m.values.has(v) ? 'ok' : 'not_found';
        assert.equal(await code(store.rollbackValue(m.id, v, rfc3339Nano())), want, JSON.stringify(o));
        if (want === 'ok') m.current = v;
        break;
      }
      case 'remove':
        assert.equal(await store.removeToRecovery(m.id, at(0), at(60)), m.state === 'live');
        if (m.state === 'live') m.state = 'removed';
        break;
      case 'restore': {
        const want = m.state !== 'removed' ? 'not_found' : m.squatter ? 'name_conflict' : 'ok';
        assert.equal(await code(store.restoreRemoved(m.id, rfc3339Nano())), want, JSON.stringify(o));
        if (want === 'ok') m.state = 'live';
        break;
      }
      case 'purge':
        assert.equal(await store.purgeRemoved(m.id), m.state === 'removed');
        if (m.state === 'removed') m.state = 'gone';
        break;
      case 'squat': {
        const want = m.state === 'live' || m.squatter ? 'name_conflict' : 'ok';
        const s = newSecret(m.name.toUpperCase());
        assert.equal(await code(store.createSecret(s)), want);
        if (want === 'ok') m.squatter = s.id;
        break;
      }
      case 'unsquat':
        assert.equal(await store.deleteSecret(m.squatter ?? newId()), m.squatter !== undefined);
        m.squatter = undefined;
        break;
      case 'delete':
        assert.equal(await store.deleteSecret(m.id), m.state === 'live');
        if (m.state === 'live') m.state = 'gone';
        break;
    }
    await agrees(store, secrets);
  }
}

/** What the store says about each modelled secret is what the model says. */
async function agrees(store: Store, secrets: Modelled[]): Promise<void> {
  const kept = await allKept(store, 4);
  for (const m of secrets) {
    const versions = [...m.values.keys()].sort((a, b) => a - b);
    const got = await store.getSecret(m.id);
    const mine = kept.filter((k) => k.secretId === m.id);
    const removed = await store.findRemoved(m.id);
    if (m.state === 'live') {
      assert.ok(got && same(got.sealed, m.values.get(m.current)), `current value of ${m.id}`);
      assert.equal(got.valueVersion ?? 1, m.current);
      assert.equal(got.latestValueVersion ?? 1, m.latest);
      const listedVersions = (await store.listValueVersions(m.id))!;
      assert.deepEqual(numbers(listedVersions), versions);
      assert.deepEqual(
        listedVersions.filter((v) => v.current).map((v) => v.version),
        [m.current],
      );
      assert.deepEqual(
        numbers(mine),
        versions.filter((v) => v !== m.current),
      );
      assert.deepEqual(removed, []);
    } else {
      assert.equal(got, undefined);
      assert.equal(await store.listValueVersions(m.id), undefined);
      assert.deepEqual(numbers(mine), m.state === 'removed' ? versions : []);
      assert.equal(removed.length, m.state === 'removed' ? 1 : 0);
    }
    for (const k of mine) assert.ok(same(k.sealed, m.values.get(k.version)), `bytes of ${m.id} v${k.version}`);
    const named = await store.findSecrets({ names: [m.name] });
    const owner = m.state === 'live' ? m.id : m.squatter;
    assert.deepEqual(
      named.map((s) => s.id),
      owner ? [owner] : [],
    );
  }
}
