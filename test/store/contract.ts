/**
 * The contract of the `Store` interface (src/store/types.ts), for every backend: call
 * `storeContract(name, open)` from a backend's test file. `open` gives a fresh, empty store and
 * a `cleanup` that releases it (and must tolerate a store that was already closed). Only the
 * interface is used here, so the same suite runs on SQLite and on etcd.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { rfc3339Nano } from '../../src/core/clock.ts';
import { newId } from '../../src/core/ids.ts';
import type { TokenRecord } from '../../src/delivery/types.ts';
import type { SecretRecord } from '../../src/secrets/types.ts';
import type { NewSecret, Store } from '../../src/store/types.ts';
import type { SwarmRecord } from '../../src/swarm/types.ts';

export type OpenStore = () => Promise<{ store: Store; cleanup(): Promise<void> }>;

const METHODS = [
  'createSecret',
  'getSecret',
  'findSecrets',
  'updateSecretLabels',
  'deleteSecret',
  'sealedPage',
  'replaceSealed',
  'readSwarm',
  'writeSwarm',
  'leaveSwarm',
  'createToken',
  'getToken',
  'listTokens',
  'deleteToken',
  'close',
] as const satisfies readonly (keyof Store)[];

function newToken(allow: string[] = ['app.*']): TokenRecord {
  return { id: newId().slice(0, 12), hash: 'ab'.repeat(32), allow, description: 'for tests', createdAt: rfc3339Nano() };
}

export function newSecret(name: string, extra: Partial<NewSecret> = {}): NewSecret {
  return { id: newId(), name, labels: {}, sealed: Buffer.from(`sealed:${name}`), createdAt: rfc3339Nano(), ...extra };
}

/** Asserts that `promise` rejects with a domain error of `code`. */
export async function rejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (e: unknown) => {
    assert.equal((e as { code?: unknown }).code, code, `expected code ${code}, got ${String(e)}`);
    return true;
  });
}

/** Every secret with its version, in ID order: what must not change when a write is refused. */
export async function snapshot(store: Store): Promise<string[]> {
  return (await store.findSecrets({})).map((s) => `${s.id}@${s.version}:${s.name}:${JSON.stringify(s.labels)}:${s.updatedAt}`);
}

const names = (records: SecretRecord[]) => records.map((r) => r.name);
/** A record as findSecrets shows it: lists leave the sealed value out. */
export const listed = ({ sealed: _, ...rest }: SecretRecord): SecretRecord => rest;
const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

export function activeSwarm(version = 0): SwarmRecord {
  const now = rfc3339Nano();
  return {
    state: 'active',
    cluster: {
      id: newId(),
      nodeId: newId(),
      version,
      createdAt: now,
      updatedAt: now,
      listenAddr: '0.0.0.0:2377',
      advertiseAddr: '127.0.0.1:2377',
      autoLockManagers: false,
      labels: { 'com.example': 'x' },
      joinTokens: { worker: 'SWMTKN-1-worker', manager: 'SWMTKN-1-manager' },
    },
  };
}

export function storeContract(name: string, open: OpenStore): void {
  /** Runs `fn` on a fresh store and always releases it. */
  async function withStore(fn: (store: Store) => Promise<void>): Promise<void> {
    const { store, cleanup } = await open();
    try {
      await fn(store);
    } finally {
      await cleanup();
    }
  }

  describe(`Store contract: ${name}`, () => {
    test('matches the interface', () =>
      withStore(async (store) => {
        assert.equal(typeof store.kind, 'string');
        assert.ok(store.kind.length > 0);
        for (const method of METHODS) assert.equal(typeof store[method], 'function', method);
      }));

    describe('createSecret', () => {
      test('create returns the record with a version and updatedAt equal to createdAt', () =>
        withStore(async (store) => {
          const input = newSecret('alpha', { labels: { a: 'b' } });
          const created = await store.createSecret(input);
          assert.equal(created.id, input.id);
          assert.equal(created.name, 'alpha');
          assert.deepEqual(created.labels, { a: 'b' });
          assert.ok(Number.isSafeInteger(created.version) && created.version > 0, `version ${created.version}`);
          assert.equal(created.createdAt, input.createdAt);
          assert.equal(created.updatedAt, created.createdAt);
          const got = await store.getSecret(input.id);
          assert.ok(got);
          assert.equal(got.version, created.version);
          assert.equal(got.createdAt, got.updatedAt);
        }));

      test('create assigns strictly increasing versions', () =>
        withStore(async (store) => {
          const versions: number[] = [];
          for (let i = 0; i < 5; i++) versions.push((await store.createSecret(newSecret(`s${i}`))).version);
          for (let i = 1; i < versions.length; i++) assert.ok(versions[i]! > versions[i - 1]!, `${versions}`);
        }));

      test('versions come from one store-wide counter shared by secret and swarm writes', () =>
        withStore(async (store) => {
          const a = await store.createSecret(newSecret('a'));
          const swarm = await store.writeSwarm(activeSwarm());
          const b = await store.createSecret(newSecret('b'));
          const updated = await store.updateSecretLabels(a.id, a.version, { x: 'y' }, rfc3339Nano());
          const swarm2 = await store.writeSwarm(activeSwarm());
          const c = await store.createSecret(newSecret('c'));
          const order = [a.version, swarm, b.version, updated.version, swarm2, c.version];
          for (let i = 1; i < order.length; i++) assert.ok(order[i]! > order[i - 1]!, `not increasing: ${order}`);
        }));

      test('create answers NameConflict when the name exists in another case, and nothing changes', () =>
        withStore(async (store) => {
          await store.createSecret(newSecret('Alpha'));
          const before = await snapshot(store);
          for (const other of ['Alpha', 'alpha', 'ALPHA', 'aLpHa']) {
            const attempt = newSecret(other);
            await rejectsWith(store.createSecret(attempt), 'name_conflict');
            assert.equal(await store.getSecret(attempt.id), undefined);
          }
          assert.deepEqual(await snapshot(store), before);
        }));

      test('a name conflict does not stop later creates, which still get larger versions', () =>
        withStore(async (store) => {
          const first = await store.createSecret(newSecret('taken'));
          await rejectsWith(store.createSecret(newSecret('TAKEN')), 'name_conflict');
          const next = await store.createSecret(newSecret('free'));
          assert.ok(next.version > first.version);
        }));

      test('20 concurrent creates of one name (in mixed case) let exactly one succeed', () =>
        withStore(async (store) => {
          const attempts = Array.from({ length: 20 }, (_, i) => newSecret(i % 2 === 0 ? 'race' : 'RACE'));
          const results = await Promise.allSettled(attempts.map((s) => store.createSecret(s)));
          const won = results.filter((r) => r.status === 'fulfilled');
          assert.equal(won.length, 1);
          for (const r of results) if (r.status === 'rejected') assert.equal((r.reason as { code?: unknown }).code, 'name_conflict');
          const all = await store.findSecrets({});
          assert.equal(all.length, 1);
          assert.equal(all[0]!.id, (won[0] as PromiseFulfilledResult<SecretRecord>).value.id);
        }));

      test('refused writes among concurrent ones are undone alone; the others stay', () =>
        withStore(async (store) => {
          const base = await store.createSecret(newSecret('base', { labels: { v: '0' } }));
          const results = await Promise.allSettled([
            store.createSecret(newSecret('one')),
            store.createSecret(newSecret('BASE')),
            store.updateSecretLabels(base.id, base.version + 5, { v: 'future' }, rfc3339Nano()),
            store.updateSecretLabels(base.id, base.version, { v: '1' }, rfc3339Nano()),
            store.createSecret(newSecret('two')),
            store.updateSecretLabels(newId(), 1, {}, rfc3339Nano()),
          ]);
          assert.deepEqual(
            results.map((r) => (r.status === 'fulfilled' ? 'ok' : (r.reason as { code?: string }).code)),
            ['ok', 'name_conflict', 'out_of_sequence', 'ok', 'ok', 'not_found'],
          );
          assert.deepEqual(names(await store.findSecrets({})).sort(), ['base', 'one', 'two']);
          assert.deepEqual((await store.getSecret(base.id))?.labels, { v: '1' });
          const versions = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.version] : []));
          for (const v of versions) assert.ok(v > base.version);
          const updated = results[3]!.status === 'fulfilled' ? results[3].value : undefined;
          assert.equal((await store.getSecret(base.id))?.version, updated?.version);
        }));

      // Concurrent writes may share a version (one transaction, as swarmkit's raft index is
      // shared by the objects one transaction changes); a write that starts later never does.
      test('20 concurrent creates of different names all succeed; every later write takes a larger version', () =>
        withStore(async (store) => {
          const before = await store.createSecret(newSecret('before'));
          const created = await Promise.all(Array.from({ length: 20 }, (_, i) => store.createSecret(newSecret(`many-${i}`))));
          assert.equal((await store.findSecrets({})).length, 21);
          const top = Math.max(...created.map((c) => c.version));
          for (const c of created) assert.ok(c.version > before.version, `${c.version} after ${before.version}`);
          for (const c of created) assert.equal((await store.getSecret(c.id))?.version, c.version);
          const updates = await Promise.all(created.map((c) => store.updateSecretLabels(c.id, c.version, { n: '1' }, rfc3339Nano())));
          for (const u of updates) assert.ok(u.version > top, `update ${u.version} not above the creates' ${top}`);
          const after = await store.createSecret(newSecret('after'));
          assert.ok(after.version > Math.max(...updates.map((u) => u.version)));
        }));
    });

    describe('getSecret', () => {
      test('getSecret returns the stored record, and undefined for an unknown ID', () =>
        withStore(async (store) => {
          const created = await store.createSecret(newSecret('g', { labels: { k: 'v' } }));
          assert.deepEqual(await store.getSecret(created.id), created);
          assert.equal(await store.getSecret(newId()), undefined);
          assert.equal(await store.getSecret(''), undefined);
        }));

      test('getSecret matches the whole ID only, case-sensitively', () =>
        withStore(async (store) => {
          const created = await store.createSecret(newSecret('g'));
          assert.equal(await store.getSecret(created.id.slice(0, 10)), undefined);
          assert.equal(await store.getSecret(created.id.toUpperCase()), undefined);
          assert.equal(await store.getSecret('g'), undefined, 'a name is not an ID');
        }));
    });

    describe('findSecrets', () => {
      /** Five secrets; IDs chosen so that prefixes are known. */
      async function seed(store: Store) {
        const make = (prefix: string) => prefix + newId().slice(prefix.length);
        const records = {
          alpha: await store.createSecret(newSecret('alpha', { id: make('aa1') })),
          alphabet: await store.createSecret(newSecret('Alphabet', { id: make('aa2') })),
          beta: await store.createSecret(newSecret('beta', { id: make('bb1') })),
          under: await store.createSecret(newSecret('a_b', { id: make('cc1') })),
          other: await store.createSecret(newSecret('axb', { id: make('0dd') })),
        };
        return records;
      }

      test('findSecrets with an empty query returns every secret in ascending ID order', () =>
        withStore(async (store) => {
          const r = await seed(store);
          const all = await store.findSecrets({});
          assert.deepEqual(
            all.map((s) => s.id),
            Object.values(r)
              .sort(byId)
              .map((s) => s.id),
          );
          assert.deepEqual(all, Object.values(r).sort(byId).map(listed));
        }));

      test('findSecrets leaves sealed values out; getSecret has them', () =>
        withStore(async (store) => {
          const r = await seed(store);
          for (const found of [await store.findSecrets({}), await store.findSecrets({ names: ['alpha'], idPrefixes: ['bb'] })]) {
            assert.ok(found.length > 0);
            for (const s of found) assert.equal(s.sealed, undefined, `${s.name} listed with its sealed value`);
          }
          const got = await store.getSecret(r.alpha.id);
          assert.ok(got?.sealed);
          assert.ok(Buffer.from(got.sealed).equals(Buffer.from(r.alpha.sealed!)));
        }));

      test('findSecrets treats empty criteria lists as no criteria', () =>
        withStore(async (store) => {
          await seed(store);
          assert.equal((await store.findSecrets({ names: [], namePrefixes: [], idPrefixes: [] })).length, 5);
          assert.equal((await store.findSecrets({ names: undefined })).length, 5);
        }));

      test('findSecrets on an empty store returns an empty list', () =>
        withStore(async (store) => {
          assert.deepEqual(await store.findSecrets({}), []);
          assert.deepEqual(await store.findSecrets({ names: ['x'], namePrefixes: ['x'], idPrefixes: ['x'] }), []);
        }));

      const queries: [title: string, query: (r: Awaited<ReturnType<typeof seed>>) => Parameters<Store['findSecrets']>[0], expected: string[]][] = [
        ['names match exactly, regardless of case', () => ({ names: ['ALPHA'] }), ['alpha']],
        ['names do not match prefixes', () => ({ names: ['alph'] }), []],
        ['several names', () => ({ names: ['beta', 'alphabet'] }), ['Alphabet', 'beta']],
        ['name prefixes match regardless of case', () => ({ namePrefixes: ['ALP'] }), ['alpha', 'Alphabet']],
        ['a whole name is its own prefix', () => ({ namePrefixes: ['beta'] }), ['beta']],
        ['"_" in a name prefix is a plain character', () => ({ namePrefixes: ['a_'] }), ['a_b']],
        ['"%" in a name prefix is a plain character', () => ({ namePrefixes: ['%'] }), []],
        ['ID prefixes match', () => ({ idPrefixes: ['aa'] }), ['alpha', 'Alphabet']],
        ['ID prefixes are case-sensitive', () => ({ idPrefixes: ['AA'] }), []],
        ['a whole ID is its own prefix', (r) => ({ idPrefixes: [r.beta.id] }), ['beta']],
        ['an empty ID prefix matches every secret', () => ({ idPrefixes: [''] }), ['axb', 'alpha', 'Alphabet', 'beta', 'a_b']],
        ['several criteria are OR-ed, in ID order', () => ({ names: ['beta'], idPrefixes: ['0d'] }), ['axb', 'beta']],
        [
          'a secret matching several criteria is listed once',
          (r) => ({ names: ['alpha'], namePrefixes: ['al', 'ALPHA'], idPrefixes: [r.alpha.id, 'aa'] }),
          ['alpha', 'Alphabet'],
        ],
        ['criteria that match nothing give nothing', () => ({ names: ['zeta'], namePrefixes: ['zz'], idPrefixes: ['zz'] }), []],
      ];
      // dockerd takes any number of filter values; an OR of ~1000 terms was a 500 on SQLite
      // (expression depth). Thousands of each kind answer as a few do.
      test('findSecrets with thousands of criteria of each kind answers as with the few that match', () =>
        withStore(async (store) => {
          const r = await seed(store);
          const junk = (tag: string) => Array.from({ length: 3000 }, (_, i) => `${tag}${i}`);
          const t0 = performance.now();
          const found = await store.findSecrets({
            names: [...junk('nope-'), 'ALPHA'],
            namePrefixes: [...junk('zz'), 'bet', 'be'],
            idPrefixes: [...junk('zz'), r.under.id, r.under.id.slice(0, 5)],
          });
          assert.deepEqual(names(found), ['alpha', 'beta', 'a_b']);
          assert.ok(performance.now() - t0 < 10_000);
        }));

      test('findSecrets agrees with a plain filter on random criteria lists', async () => {
        const alphabet = ['a', 'b', 'A', '_', '0', 'x'];
        const word = fc.array(fc.constantFrom(...alphabet), { maxLength: 4 }).map((cs) => cs.join(''));
        const list = fc.option(fc.array(word, { maxLength: 6 }), { nil: undefined });
        await withStore(async (store) => {
          const r = Object.values(await seed(store));
          await fc.assert(
            fc.asyncProperty(list, list, list, async (names_, namePrefixes, idPrefixes) => {
              const none = (names_?.length ?? 0) + (namePrefixes?.length ?? 0) + (idPrefixes?.length ?? 0) === 0;
              const want = r
                .filter(
                  (s) =>
                    none ||
                    names_?.some((n) => n.toLowerCase() === s.name.toLowerCase()) ||
                    namePrefixes?.some((p) => s.name.toLowerCase().startsWith(p.toLowerCase())) ||
                    idPrefixes?.some((p) => s.id.startsWith(p)),
                )
                .sort(byId)
                .map((s) => s.name);
              assert.deepEqual(names(await store.findSecrets({ names: names_, namePrefixes, idPrefixes })), want);
            }),
            { numRuns: 150 },
          );
        });
      });

      for (const [title, query, expected] of queries) {
        test(`findSecrets: ${title}`, () =>
          withStore(async (store) => {
            const r = await seed(store);
            const found = await store.findSecrets(query(r));
            assert.deepEqual(names(found), expected);
            assert.deepEqual(found, [...found].sort(byId));
          }));
      }
    });

    describe('findSecrets by labels', () => {
      const L = (...pairs: [string, string][]) => new Map(pairs);
      /** Four secrets; IDs chosen so that prefixes are known. */
      async function seed(store: Store) {
        const make = (prefix: string) => prefix + newId().slice(prefix.length);
        return {
          web: await store.createSecret(newSecret('app.web', { id: make('aa1'), labels: { team: 'a', env: 'prod' } })),
          db: await store.createSecret(newSecret('app.db', { id: make('aa2'), labels: { team: 'b', env: 'prod' } })),
          cache: await store.createSecret(newSecret('cache', { id: make('bb1'), labels: { team: 'a', env: '' } })),
          bare: await store.createSecret(newSecret('bare', { id: make('bb2') })),
        };
      }

      const cases: [title: string, query: (r: Awaited<ReturnType<typeof seed>>) => Parameters<Store['findSecrets']>[0], expected: string[]][] = [
        ['a key alone matches every value of it, the empty one too', () => ({ labels: L(['env', '']) }), ['app.web', 'app.db', 'cache']],
        ['key=value matches that value only', () => ({ labels: L(['team', 'a']) }), ['app.web', 'cache']],
        ['keys and values are case-sensitive', () => ({ labels: L(['Team', '']) }), []],
        ['values are case-sensitive', () => ({ labels: L(['team', 'A']) }), []],
        ['a value is not a prefix', () => ({ labels: L(['env', 'pro']) }), []],
        ['two conditions are AND-ed', () => ({ labels: L(['team', 'a'], ['env', 'prod']) }), ['app.web']],
        ['a key alone AND key=value', () => ({ labels: L(['env', ''], ['team', 'b']) }), ['app.db']],
        ['a key nobody has matches nothing', () => ({ labels: L(['team', 'a'], ['owner', '']) }), []],
        ['labels narrow a name prefix', () => ({ namePrefixes: ['APP.'], labels: L(['team', 'b']) }), ['app.db']],
        ['labels narrow the OR of names and prefixes', () => ({ names: ['cache'], namePrefixes: ['app.'], labels: L(['team', 'a']) }), ['app.web', 'cache']],
        ['labels narrow ID prefixes', () => ({ idPrefixes: ['bb'], labels: L(['env', '']) }), ['cache']],
        ['labels do not widen criteria that match nothing', () => ({ names: ['nope'], labels: L(['team', 'a']) }), []],
        ['an empty label map is no condition', () => ({ labels: L() }), ['app.web', 'app.db', 'cache', 'bare']],
      ];
      for (const [title, query, expected] of cases) {
        test(`findSecrets by labels: ${title}`, () =>
          withStore(async (store) => {
            const r = await seed(store);
            const found = await store.findSecrets(query(r));
            assert.deepEqual([...names(found)].sort(), [...expected].sort());
            assert.deepEqual(
              found.map((s) => s.id),
              found.map((s) => s.id).sort(),
              'in ascending ID order',
            );
            for (const s of found) assert.equal(s.sealed, undefined, `${s.name} listed with its sealed value`);
          }));
      }

      test('findSecrets by labels follows label updates and deletes', () =>
        withStore(async (store) => {
          const r = await seed(store);
          const moved = await store.updateSecretLabels(r.web.id, r.web.version, { team: 'b', owner: 'x' }, rfc3339Nano());
          assert.deepEqual(names(await store.findSecrets({ labels: L(['team', 'a']) })), ['cache']);
          assert.deepEqual(names(await store.findSecrets({ labels: L(['team', 'b']) })), ['app.web', 'app.db']);
          assert.deepEqual(names(await store.findSecrets({ labels: L(['owner', '']) })), ['app.web']);
          assert.deepEqual(names(await store.findSecrets({ labels: L(['env', 'prod']) })), ['app.db'], 'a label the update dropped no longer matches');
          assert.deepEqual((await store.findSecrets({ labels: L(['owner', 'x']) }))[0], listed(moved));
          // A refused update changes nothing the filters see.
          await rejectsWith(store.updateSecretLabels(r.db.id, r.db.version + 1000, { team: 'z' }, rfc3339Nano()), 'out_of_sequence');
          assert.deepEqual(names(await store.findSecrets({ labels: L(['team', 'z']) })), []);
          await store.updateSecretLabels(r.cache.id, r.cache.version, {}, rfc3339Nano());
          assert.deepEqual(names(await store.findSecrets({ labels: L(['env', '']) })), ['app.db']);
          assert.equal(await store.deleteSecret(r.db.id), true);
          assert.deepEqual(names(await store.findSecrets({ labels: L(['team', 'b']) })), ['app.web']);
          assert.deepEqual(names(await store.findSecrets({ labels: L(['env', '']) })), []);
          // A new secret with a deleted one's labels matches; the deleted one does not come back.
          await store.createSecret(newSecret('app.db', { labels: { team: 'b', env: 'prod' } }));
          assert.deepEqual(names(await store.findSecrets({ labels: L(['team', 'b'], ['env', 'prod']) })), ['app.db']);
          assert.notEqual((await store.findSecrets({ labels: L(['team', 'b'], ['env', 'prod']) }))[0]!.id, r.db.id);
        }));

      test('findSecrets by labels finds nothing after leaveSwarm, and new secrets after it', () =>
        withStore(async (store) => {
          await seed(store);
          await store.leaveSwarm({ state: 'inactive' });
          assert.deepEqual(await store.findSecrets({ labels: L(['team', '']) }), []);
          await store.writeSwarm(activeSwarm());
          await store.createSecret(newSecret('again', { labels: { team: 'a' } }));
          assert.deepEqual(names(await store.findSecrets({ labels: L(['team', 'a']) })), ['again']);
        }));

      test('findSecrets by labels with keys such as __proto__, the empty key and unicode ones', () =>
        withStore(async (store) => {
          const labels = JSON.parse('{"__proto__":"p","":"empty key","ключ":"значение","a.b/c=d":"x=y","k":""}') as Record<string, string>;
          await store.createSecret(newSecret('odd', { labels }));
          await store.createSecret(newSecret('plain', { labels: { k: 'v' } }));
          for (const [key, value] of Object.entries(labels)) {
            if (value !== '') assert.deepEqual(names(await store.findSecrets({ labels: L([key, value]) })), ['odd'], `${key}=${value}`);
            if (key !== 'k') assert.deepEqual(names(await store.findSecrets({ labels: L([key, '']) })), ['odd'], key);
          }
          assert.deepEqual(names(await store.findSecrets({ labels: L(['k', '']) })).sort(), ['odd', 'plain']);
          assert.deepEqual(names(await store.findSecrets({ labels: L(['constructor', '']) })), [], 'no inherited key matches');
        }));

      test('findSecrets applies every one of many label conditions', () =>
        withStore(async (store) => {
          const labels = Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`k${i}`, `v${i}`]));
          await store.createSecret(newSecret('many', { labels }));
          await store.createSecret(newSecret('fewer', { labels: { ...labels, k59: 'other' } }));
          const all = Object.entries(labels) as [string, string][];
          assert.deepEqual(names(await store.findSecrets({ labels: new Map(all) })), ['many']);
          assert.deepEqual(names(await store.findSecrets({ labels: new Map([...all.slice(0, 59), ['k59', '']]) })).sort(), ['fewer', 'many']);
          assert.deepEqual(names(await store.findSecrets({ labels: new Map([...all, ['k60', '']]) })), []);
          assert.deepEqual(names(await store.findSecrets({ namePrefixes: ['f', 'm'], labels: new Map(all) })), ['many']);
        }));

      test('findSecrets by labels agrees with a model over random creates, updates, deletes and queries', async () => {
        const keys = ['team', 'env', 'Team', '', '__proto__'];
        const values = ['a', 'b', 'A', ''];
        const labelsArb = fc.dictionary(fc.constantFrom(...keys), fc.constantFrom(...values), { maxKeys: 3 });
        const conditionArb = fc.array(fc.tuple(fc.constantFrom(...keys, 'none'), fc.constantFrom(...values)), { maxLength: 3 });
        const wordArb = fc.array(fc.constantFrom('a', 'b', 'A'), { maxLength: 2 }).map((cs) => cs.join(''));
        const opArb = fc.oneof(
          fc.record({ kind: fc.constant('create' as const), name: wordArb, labels: labelsArb }),
          fc.record({ kind: fc.constant('update' as const), pick: fc.nat(), labels: labelsArb }),
          fc.record({ kind: fc.constant('delete' as const), pick: fc.nat() }),
        );
        const queryArb = fc.record({
          names: fc.option(fc.array(wordArb, { maxLength: 2 }), { nil: undefined }),
          namePrefixes: fc.option(fc.array(wordArb, { maxLength: 2 }), { nil: undefined }),
          labels: conditionArb,
        });
        await withStore(async (store) => {
          const model = new Map<string, SecretRecord>(); // what the store holds, by ID
          let serial = 0;
          await fc.assert(
            fc.asyncProperty(fc.array(opArb, { maxLength: 6 }), fc.array(queryArb, { minLength: 1, maxLength: 4 }), async (ops, queries) => {
              for (const op of ops) {
                const live = [...model.values()].sort(byId);
                if (op.kind === 'create') {
                  // Unique names (a serial suffix) keep name conflicts out of this property.
                  const created = await store.createSecret(newSecret(`${op.name}-${serial++}`, { labels: { ...op.labels } }));
                  model.set(created.id, listed(created));
                } else if (live.length > 0) {
                  const target = live[op.pick % live.length]!;
                  if (op.kind === 'update')
                    model.set(target.id, listed(await store.updateSecretLabels(target.id, target.version, { ...op.labels }, rfc3339Nano())));
                  else {
                    assert.equal(await store.deleteSecret(target.id), true);
                    model.delete(target.id);
                  }
                }
              }
              for (const q of queries) {
                const labels = new Map(q.labels);
                const selects = (q.names?.length ?? 0) + (q.namePrefixes?.length ?? 0) > 0;
                const want = [...model.values()]
                  .filter(
                    (s) =>
                      !selects ||
                      q.names?.some((n) => n.toLowerCase() === s.name.toLowerCase()) ||
                      q.namePrefixes?.some((p) => s.name.toLowerCase().startsWith(p.toLowerCase())),
                  )
                  .filter((s) => [...labels].every(([k, v]) => Object.hasOwn(s.labels, k) && (v === '' || s.labels[k] === v)))
                  .sort(byId);
                assert.deepEqual(await store.findSecrets({ names: q.names, namePrefixes: q.namePrefixes, labels }), want);
              }
            }),
            { numRuns: 60 },
          );
        });
      });
    });

    describe('updateSecretLabels', () => {
      test('update with the current version replaces the labels, takes a larger version and keeps createdAt', () =>
        withStore(async (store) => {
          const created = await store.createSecret(newSecret('u', { labels: { old: '1', keep: 'x' } }));
          const at = rfc3339Nano();
          const updated = await store.updateSecretLabels(created.id, created.version, { new: '2' }, at);
          assert.deepEqual(updated.labels, { new: '2' });
          assert.ok(updated.version > created.version);
          assert.equal(updated.createdAt, created.createdAt);
          assert.equal(updated.updatedAt, at);
          assert.equal(updated.name, 'u');
          assert.deepEqual(await store.getSecret(created.id), updated);
        }));

      test('update to empty labels stores empty labels', () =>
        withStore(async (store) => {
          const created = await store.createSecret(newSecret('u', { labels: { a: 'b' } }));
          await store.updateSecretLabels(created.id, created.version, {}, rfc3339Nano());
          assert.deepEqual((await store.getSecret(created.id))?.labels, {});
        }));

      test('update keeps the sealed value, driver and templating', () =>
        withStore(async (store) => {
          const sealed = Buffer.from([0, 1, 2, 255]);
          const created = await store.createSecret(
            newSecret('u', { sealed, driver: { Name: 'vault', Options: { path: 'a/b' } }, templating: { Name: 'golang' } }),
          );
          await store.updateSecretLabels(created.id, created.version, { a: 'b' }, rfc3339Nano());
          const got = await store.getSecret(created.id);
          assert.ok(got?.sealed);
          assert.ok(Buffer.from(got.sealed).equals(sealed));
          assert.deepEqual(got.driver, { Name: 'vault', Options: { path: 'a/b' } });
          assert.deepEqual(got.templating, { Name: 'golang' });
        }));

      test('update with a stale version answers OutOfSequence and changes nothing', () =>
        withStore(async (store) => {
          const created = await store.createSecret(newSecret('u', { labels: { v: '0' } }));
          await store.updateSecretLabels(created.id, created.version, { v: '1' }, rfc3339Nano());
          const before = await snapshot(store);
          await rejectsWith(store.updateSecretLabels(created.id, created.version, { v: 'stale' }, rfc3339Nano()), 'out_of_sequence');
          assert.deepEqual(await snapshot(store), before);
        }));

      test('update with a future version answers OutOfSequence and changes nothing', () =>
        withStore(async (store) => {
          const created = await store.createSecret(newSecret('u', { labels: { v: '0' } }));
          const before = await snapshot(store);
          for (const version of [created.version + 1, created.version + 1000, Number.MAX_SAFE_INTEGER]) {
            await rejectsWith(store.updateSecretLabels(created.id, version, { v: 'future' }, rfc3339Nano()), 'out_of_sequence');
          }
          await rejectsWith(store.updateSecretLabels(created.id, 0, { v: 'zero' }, rfc3339Nano()), 'out_of_sequence');
          assert.deepEqual(await snapshot(store), before);
        }));

      test('a refused update does not hold back later writes, which still get larger versions', () =>
        withStore(async (store) => {
          const created = await store.createSecret(newSecret('u'));
          await rejectsWith(store.updateSecretLabels(created.id, created.version + 1, {}, rfc3339Nano()), 'out_of_sequence');
          const updated = await store.updateSecretLabels(created.id, created.version, { ok: '1' }, rfc3339Nano());
          assert.ok(updated.version > created.version);
        }));

      test('update of a missing ID answers not_found', () =>
        withStore(async (store) => {
          await rejectsWith(store.updateSecretLabels(newId(), 1, { a: 'b' }, rfc3339Nano()), 'not_found');
          const created = await store.createSecret(newSecret('gone'));
          await store.deleteSecret(created.id);
          await rejectsWith(store.updateSecretLabels(created.id, created.version, { a: 'b' }, rfc3339Nano()), 'not_found');
        }));

      test('two concurrent updates from the same version: exactly one wins, the other is OutOfSequence', () =>
        withStore(async (store) => {
          const created = await store.createSecret(newSecret('u'));
          const results = await Promise.allSettled([
            store.updateSecretLabels(created.id, created.version, { by: 'first' }, rfc3339Nano()),
            store.updateSecretLabels(created.id, created.version, { by: 'second' }, rfc3339Nano()),
          ]);
          const won = results.filter((r): r is PromiseFulfilledResult<SecretRecord> => r.status === 'fulfilled');
          const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
          assert.equal(won.length, 1);
          assert.equal(lost.length, 1);
          assert.equal((lost[0]!.reason as { code?: unknown }).code, 'out_of_sequence');
          assert.deepEqual(await store.getSecret(created.id), won[0]!.value);
        }));

      test('10 concurrent updates from the same version: exactly one wins', () =>
        withStore(async (store) => {
          const created = await store.createSecret(newSecret('u'));
          const results = await Promise.allSettled(
            Array.from({ length: 10 }, (_, i) => store.updateSecretLabels(created.id, created.version, { i: String(i) }, rfc3339Nano())),
          );
          assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
        }));
    });

    describe('deleteSecret', () => {
      test('delete answers true, then false; the secret and its name are gone', () =>
        withStore(async (store) => {
          const created = await store.createSecret(newSecret('d'));
          const kept = await store.createSecret(newSecret('kept'));
          assert.equal(await store.deleteSecret(created.id), true);
          assert.equal(await store.getSecret(created.id), undefined);
          assert.equal(await store.deleteSecret(created.id), false);
          assert.deepEqual(names(await store.findSecrets({})), ['kept']);
          assert.deepEqual(await store.getSecret(kept.id), kept);
          const again = await store.createSecret(newSecret('D'));
          assert.ok(again.version > kept.version, 'the name is free again and versions keep growing');
        }));

      test('delete of an ID never stored answers false', () =>
        withStore(async (store) => {
          assert.equal(await store.deleteSecret(newId()), false);
        }));
    });

    describe('readGeneration', () => {
      test('changes with every committed write that changes a secret, never with reads; undefined once closed', () =>
        withStore(async (store) => {
          if (!store.readGeneration) return; // a store other processes write cannot say
          const seen = [store.readGeneration()];
          const changed = (what: string) => {
            const now = store.readGeneration!();
            assert.ok(!seen.includes(now), `${what} left the generation at ${now}`);
            seen.push(now);
          };
          const unchanged = (what: string) => assert.equal(store.readGeneration!(), seen.at(-1), what);
          const created = await store.createSecret(newSecret('gen'));
          changed('createSecret');
          await store.getSecret(created.id);
          await store.findSecrets({ names: ['gen'] });
          unchanged('reads');
          await assert.rejects(store.createSecret(newSecret('GEN')));
          const updated = await store.updateSecretLabels(created.id, created.version, { a: 'b' }, rfc3339Nano());
          changed('updateSecretLabels');
          await assert.rejects(store.updateSecretLabels(created.id, created.version, { a: 'c' }, rfc3339Nano()));
          assert.deepEqual(await store.getSecret(created.id), updated, 'a refused write changes nothing it could have kept');
          assert.equal(await store.deleteSecret(created.id), true);
          changed('deleteSecret');
          await store.close();
          assert.equal(store.readGeneration(), undefined);
        }));
    });

    describe('round trips', () => {
      test('labels with __proto__, constructor, an empty key and unicode keys round-trip unchanged', () =>
        withStore(async (store) => {
          const labels = JSON.parse(
            '{"__proto__":"p","constructor":"c","toString":"t","":"empty key","ключ":"значение","🔑":"🔒","k":"","a.b/c=d":"x=y"}',
          ) as Record<string, string>;
          const created = await store.createSecret(newSecret('labels', { labels }));
          for (const got of [created, await store.getSecret(created.id), (await store.findSecrets({ names: ['labels'] }))[0]]) {
            assert.ok(got);
            assert.deepEqual(Object.keys(got.labels), Object.keys(labels));
            assert.deepEqual(got.labels, labels);
            assert.ok(Object.hasOwn(got.labels, '__proto__'));
            assert.equal(Object.getPrototypeOf(got.labels), Object.prototype);
          }
          const updated = await store.updateSecretLabels(created.id, created.version, labels, rfc3339Nano());
          assert.deepEqual(updated.labels, labels);
          assert.deepEqual((await store.getSecret(created.id))?.labels, labels);
          assert.equal(({} as Record<string, unknown>).p, undefined);
        }));

      test('sealed bytes round-trip unchanged', () =>
        withStore(async (store) => {
          const values = [
            Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
            Buffer.from([0]),
            Buffer.from([0xff, 0xfe, 0x00, 0x00]),
            Buffer.alloc(600 * 1024, 0xab),
          ];
          for (const [i, sealed] of values.entries()) {
            const created = await store.createSecret(newSecret(`sealed-${i}`, { sealed: new Uint8Array(sealed) }));
            const got = await store.getSecret(created.id);
            assert.ok(got?.sealed, `sealed-${i}`);
            assert.ok(Buffer.from(got.sealed).equals(sealed), `sealed-${i} changed`);
          }
        }));

      test('a secret without sealed bytes has none when read back', () =>
        withStore(async (store) => {
          const { sealed: _, ...input } = newSecret('driver-only', { driver: { Name: 'vault' } });
          const created = await store.createSecret(input);
          const got = await store.getSecret(created.id);
          assert.ok(got);
          assert.equal(got.sealed, undefined);
          assert.deepEqual(got.driver, { Name: 'vault' });
        }));

      test('driver and templating round-trip unchanged, and stay absent when not given', () =>
        withStore(async (store) => {
          const driver = { Name: 'vault', Options: { path: 'secret/data', '': 'e' } };
          const templating = { Name: 'golang', Options: {} };
          const withBoth = await store.createSecret(newSecret('both', { driver, templating }));
          const plain = await store.createSecret(newSecret('plain'));
          const a = await store.getSecret(withBoth.id);
          assert.deepEqual(a?.driver, driver);
          assert.deepEqual(a?.templating, templating);
          const b = await store.getSecret(plain.id);
          assert.ok(b);
          assert.equal(b.driver, undefined);
          assert.equal(b.templating, undefined);
          assert.ok(!('driver' in b) && !('templating' in b));
        }));

      test('timestamps round-trip unchanged, nanoseconds included', () =>
        withStore(async (store) => {
          const created = await store.createSecret(newSecret('t', { createdAt: '2024-02-29T23:59:59.123456789Z' }));
          const got = await store.getSecret(created.id);
          assert.equal(got?.createdAt, '2024-02-29T23:59:59.123456789Z');
          assert.equal(got?.updatedAt, '2024-02-29T23:59:59.123456789Z');
        }));
    });

    describe('re-sealing (key rotation)', () => {
      test('sealedPage walks every secret with a sealed value in ID order, page by page, skipping the others', () =>
        withStore(async (store) => {
          const made: SecretRecord[] = [];
          for (let i = 0; i < 7; i++) made.push(await store.createSecret(newSecret(`page-${i}`)));
          const { sealed: _, ...driverOnly } = newSecret('page-driver', { driver: { Name: 'vault' } });
          await store.createSecret(driverOnly);
          const seen: string[] = [];
          let after = '';
          for (let pages = 0; ; pages++) {
            const page = await store.sealedPage(after, 3);
            if (page.length === 0) break;
            assert.ok(page.length <= 3);
            for (const e of page) {
              const r = made.find((m) => m.id === e.id);
              assert.ok(r, `unexpected ${e.id}`);
              assert.equal(e.createdAt, r.createdAt);
              assert.ok(Buffer.from(e.sealed).equals(Buffer.from(r.sealed!)));
            }
            seen.push(...page.map((e) => e.id));
            after = page.at(-1)!.id;
            assert.ok(pages < 10);
          }
          assert.deepEqual(seen, made.map((m) => m.id).sort());
        }));

      test('replaceSealed swaps values that are unchanged, skips stale and deleted ones, and keeps versions', () =>
        withStore(async (store) => {
          const a = await store.createSecret(newSecret('rs-a'));
          const b = await store.createSecret(newSecret('rs-b'));
          const c = await store.createSecret(newSecret('rs-c'));
          await store.deleteSecret(c.id);
          const before = await snapshot(store);
          const n = await store.replaceSealed([
            { id: a.id, from: a.sealed!, to: Buffer.from('resealed-a') },
            { id: b.id, from: Buffer.from('not what b holds'), to: Buffer.from('resealed-b') },
            { id: c.id, from: c.sealed!, to: Buffer.from('resealed-c') },
          ]);
          assert.equal(n, 1);
          assert.equal(Buffer.from((await store.getSecret(a.id))!.sealed!).toString(), 'resealed-a');
          assert.ok(Buffer.from((await store.getSecret(b.id))!.sealed!).equals(Buffer.from(b.sealed!)));
          assert.equal(await store.getSecret(c.id), undefined, 'a deleted secret does not come back');
          assert.deepEqual(await snapshot(store), before, 'versions, labels and timestamps are unchanged');
          const next = await store.createSecret(newSecret('rs-d'));
          assert.ok(next.version > b.version);
        }));

      test('concurrent replaceSealed of one value from the same old value: exactly one applies', () =>
        withStore(async (store) => {
          const a = await store.createSecret(newSecret('rs-race'));
          const counts = await Promise.all(
            Array.from({ length: 5 }, (_, i) => store.replaceSealed([{ id: a.id, from: a.sealed!, to: Buffer.from(`winner-${i}`) }])),
          );
          assert.equal(
            counts.reduce((x, y) => x + y, 0),
            1,
          );
          assert.match(Buffer.from((await store.getSecret(a.id))!.sealed!).toString(), /^winner-\d$/);
        }));

      test('replaceSealed with no changes resolves with 0', () =>
        withStore(async (store) => {
          assert.equal(await store.replaceSealed([]), 0);
        }));
    });

    describe('swarm state', () => {
      test('readSwarm is undefined in a store that never held a swarm', () =>
        withStore(async (store) => {
          assert.equal(await store.readSwarm(), undefined);
        }));

      test('writeSwarm returns the new version and readSwarm returns the record with it', () =>
        withStore(async (store) => {
          const record = activeSwarm();
          const version = await store.writeSwarm(record);
          assert.ok(Number.isSafeInteger(version) && version > 0);
          assert.deepEqual(await store.readSwarm(), { ...record, cluster: { ...record.cluster!, version } });
          const next = activeSwarm();
          const version2 = await store.writeSwarm(next);
          assert.ok(version2 > version);
          assert.deepEqual(await store.readSwarm(), { ...next, cluster: { ...next.cluster!, version: version2 } });
        }));

      test('an inactive swarm record round-trips unchanged', () =>
        withStore(async (store) => {
          await store.writeSwarm({ state: 'inactive' });
          assert.deepEqual(await store.readSwarm(), { state: 'inactive' });
        }));

      test('leaveSwarm deletes every secret and stores the given record', () =>
        withStore(async (store) => {
          await store.writeSwarm(activeSwarm());
          const created = await Promise.all(['a', 'b', 'c'].map((n) => store.createSecret(newSecret(n))));
          await store.leaveSwarm({ state: 'inactive' });
          assert.deepEqual(await store.findSecrets({}), []);
          for (const c of created) assert.equal(await store.getSecret(c.id), undefined);
          assert.deepEqual(await store.readSwarm(), { state: 'inactive' });
          await store.writeSwarm(activeSwarm());
          const after = await store.createSecret(newSecret('a'));
          assert.ok(after.version > Math.max(...created.map((c) => c.version)), 'the name is free and versions keep growing');
        }));

      test('writes after leaveSwarm are refused with NotInSwarm, also when they raced it', () =>
        withStore(async (store) => {
          await store.writeSwarm(activeSwarm());
          const kept = await store.createSecret(newSecret('kept'));
          // Issued together: the leave lands first, so the create and the update must not survive it.
          const [left, create, update] = await Promise.allSettled([
            store.leaveSwarm({ state: 'inactive' }),
            store.createSecret(newSecret('raced')),
            store.updateSecretLabels(kept.id, kept.version, { a: 'b' }, kept.createdAt),
          ]);
          assert.equal(left.status, 'fulfilled');
          for (const r of [create, update]) {
            assert.equal(r.status, 'rejected');
            assert.equal((r as PromiseRejectedResult).reason.code, 'not_in_swarm');
          }
          assert.deepEqual(await store.findSecrets({}), []);
        }));

      test('leaveSwarm on an empty store stores the record', () =>
        withStore(async (store) => {
          await store.leaveSwarm({ state: 'inactive' });
          assert.deepEqual(await store.readSwarm(), { state: 'inactive' });
        }));
    });

    describe('consumer tokens', () => {
      test('a created token reads back equal, lists in ID order, and deletes once', () =>
        withStore(async (store) => {
          const a = newToken(['app.*', 'db_password']);
          const b = newToken(['*']);
          await store.createToken(a);
          await store.createToken(b);
          assert.deepEqual(await store.getToken(a.id), a);
          assert.deepEqual(
            await store.listTokens(),
            [a, b].sort((x, y) => (x.id < y.id ? -1 : 1)),
          );
          assert.equal(await store.deleteToken(a.id), true);
          assert.equal(await store.getToken(a.id), undefined);
          assert.equal(await store.deleteToken(a.id), false);
          assert.deepEqual(await store.listTokens(), [b]);
        }));

      test('a second token with the same ID is refused and the first is kept', () =>
        withStore(async (store) => {
          const a = newToken();
          await store.createToken(a);
          await assert.rejects(store.createToken({ ...a, hash: 'cd'.repeat(32) }), (e: { code?: string }) => e.code === 'name_conflict');
          assert.deepEqual(await store.getToken(a.id), a);
        }));

      test('tokens outlive leaveSwarm, which erases only secrets', () =>
        withStore(async (store) => {
          await store.writeSwarm(activeSwarm());
          const t = newToken();
          await store.createToken(t);
          await store.createSecret(newSecret('gone'));
          await store.leaveSwarm({ state: 'inactive' });
          assert.deepEqual(await store.listTokens(), [t]);
        }));
    });

    describe('close', () => {
      test('after close(), every call rejects', () =>
        withStore(async (store) => {
          const created = await store.createSecret(newSecret('c'));
          await store.close();
          const calls: [string, () => Promise<unknown>][] = [
            ['createSecret', () => store.createSecret(newSecret('after'))],
            ['getSecret', () => store.getSecret(created.id)],
            ['findSecrets', () => store.findSecrets({})],
            ['updateSecretLabels', () => store.updateSecretLabels(created.id, created.version, {}, rfc3339Nano())],
            ['deleteSecret', () => store.deleteSecret(created.id)],
            ['readSwarm', () => store.readSwarm()],
            ['writeSwarm', () => store.writeSwarm({ state: 'inactive' })],
            ['leaveSwarm', () => store.leaveSwarm({ state: 'inactive' })],
            ['createToken', () => store.createToken(newToken())],
            ['getToken', () => store.getToken('x')],
            ['listTokens', () => store.listTokens()],
            ['deleteToken', () => store.deleteToken('x')],
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

      test('writes already issued when close() is called still complete', () =>
        withStore(async (store) => {
          const input = newSecret('late');
          const pending = store.createSecret(input);
          const swarm = store.writeSwarm({ state: 'inactive' });
          await store.close();
          const created = await pending;
          assert.equal(created.id, input.id);
          assert.ok((await swarm) > created.version);
        }));

      test('close() twice is harmless', () =>
        withStore(async (store) => {
          await store.close();
          await store.close();
        }));
    });
  });
}
