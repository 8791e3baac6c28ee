/**
 * The distributed store: etcd v3, loaded only when a daemon is started with `--store etcd://…`:
 * Range and Txn through the store's own gRPC client (etcd-kv.ts), watches through `etcd3`.
 * Several daemons over one etcd act as one swarm: every rule that must hold across them is an
 * etcd transaction, so etcd's raft log is the only replication.
 *
 * - Name uniqueness: a create requires the name's index key (lower-cased) to be absent.
 * - Version compare-and-set: an update requires the record's mod_revision to be the version
 *   the caller saw. Versions are etcd revisions, increasing across all daemons; the writes of
 *   one turn of the event loop go in one transaction and share its revision (etcd-group-commit.ts).
 * - Swarm leave: every write requires the `left` marker absent; leaving deletes every secret
 *   and sets the marker in one transaction. Key layout: src/store/etcd-keys.ts.
 * - Value versions and the recovery window: a rotate, rollback, removal or restore reads what it
 *   changes, then commits in one transaction that requires the record (and the values it moves)
 *   at the revisions it read, and tries again when another write came between. Kept values and
 *   removed secrets live outside the secrets' range, so the cache never holds them.
 *
 * Reads are linearizable and served from memory: a watch-fed cache of the secrets' metadata
 * (etcd-cache.ts) answers once it has applied the revision of the last change to any secret,
 * which one quorum read shared by concurrent reads learns (etcd-revision-check.ts); while the
 * cache is not live they read etcd directly, as they did before it. Each write is one
 * transaction that also puts the secrets' change marker. The value-version reads and the recovery
 * lookups are one linearizable etcd transaction each: they need a round trip for the values
 * anyway, and what they read is not cached.
 *
 * Every call has a deadline (`timeoutMs`): without a quorum it fails with StoreUnavailable
 * (503) instead of hanging.
 */
import type { Etcd3, ICompare, IKeyValue, IRangeRequest, IRangeResponse, IRequestOp, ITxnResponse, Watcher } from 'etcd3';
import { EtcdCallError, EtcdKv } from './etcd-kv.ts';
import { AlreadyInSwarm, NameConflict, NotInSwarm, OutOfSequence, SecretNotFound, StoreUnavailable, VersionNotFound } from '../core/errors.ts';
import type { SecretRecord, SwarmRecord, TokenRecord } from './records.ts';
import { EtcdSecretsCache } from './etcd-cache.ts';
import { decodeKept, decodeMeta, decodeRemoved, encodeKept, encodeMeta, encodeRemoved, EtcdKeys, prefixEnd } from './etcd-keys.ts';
import { compactQuery } from './secret-query.ts';
import { MAX_TXN_OPS, RevisionCheck } from './etcd-revision-check.ts';
import { GroupCommit } from './etcd-group-commit.ts';
import { labelsMatch } from './secret-index.ts';
import type {
  KeptValue,
  KeptValueChange,
  KeptValueCursor,
  NewSecret,
  NewValueVersion,
  RemovedSecret,
  SealedChange,
  SealedEntry,
  SecretQuery,
  Store,
  ValueVersionInfo,
} from './types.ts';

export const ETCD = 'etcd';

export interface EtcdStoreOptions {
  /** Client endpoints, `host:port`. */
  endpoints: string[];
  /** Key prefix, without slashes at either end (default `secretd`). */
  prefix?: string;
  /** PEM contents. With any of them the endpoints are dialled over TLS. */
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
  /** Longest any one store call may take, retries included, in ms (default 3000). */
  timeoutMs?: number;
}

/**
 * The longest a read waits for the cache to apply the revision it needs before it reads etcd
 * directly (and the watch is started again): normally the watch is there within milliseconds.
 */
const CACHE_WAIT_MS = 1000;

export class EtcdStore implements Store {
  readonly kind = ETCD;
  readonly shared = true;
  private closed = false;
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly writes = new Set<Promise<unknown>>();
  /**
   * The swarm write in progress, if any. Swarm writes change what every other write is allowed
   * to do, so they are fences: one waits for the writes issued before it, and the writes issued
   * after it wait for it (as SQLite's single writer orders them by itself).
   */
  private fence: Promise<unknown> | undefined;
  private watcher: Promise<Watcher> | undefined;
  private readonly cache: EtcdSecretsCache;
  /** How many reads the cache answered, and how many read etcd directly (tests and debugging). */
  readonly reads = { cached: 0, direct: 0 };
  /** How many revision checks the cached reads have sent to etcd (tests and debugging). */
  get revisionChecks(): number {
    return this.check.checks;
  }
  private readonly check: RevisionCheck;
  /** The cache as it is, unchecked (Store.recentSecrets): what an update or delete starts from. */
  readonly recentSecrets: Pick<Store, 'getSecret' | 'findSecrets'> = {
    getSecret: async (id) => this.cache.get(id),
    findSecrets: async (q) => this.cache.find(q),
  };
  private readonly group: GroupCommit;

  private readonly client: Etcd3;
  /** Range and Txn go here (etcd-kv.ts); the etcd3 client keeps the watches and the rest. */
  private readonly kv: EtcdKv;
  private readonly keys: EtcdKeys;
  private readonly timeoutMs: number;
  private readonly where: string;
  private constructor(client: Etcd3, keys: EtcdKeys, timeoutMs: number, endpoints: string[], tls: EtcdStoreOptions['tls']) {
    this.client = client;
    this.keys = keys;
    this.timeoutMs = timeoutMs;
    this.where = endpoints.join(',');
    this.kv = new EtcdKv({ endpoints, tls });
    this.cache = new EtcdSecretsCache(client, keys, (request) => this.range(request));
    this.check = new RevisionCheck(keys.secretsMarker, (ops) => this.txn([], ops, []));
    this.group = new GroupCommit(put(keys.secretsMarker, NOTHING), (c, s, f) => this.txn(c, s, f));
  }

  /** Connects and checks that etcd answers; rejects with StoreUnavailable when it does not. */
  static async connect(opts: EtcdStoreOptions): Promise<EtcdStore> {
    const timeoutMs = opts.timeoutMs ?? 3000;
    const { Etcd3 } = await loadClient();
    const secure = opts.tls !== undefined && Object.values(opts.tls).some(Boolean);
    const client = new Etcd3({
      hosts: opts.endpoints.map((e) => `${secure ? 'https' : 'http'}://${e}`),
      // grpc-js falls back to the system's roots when no CA is given.
      ...(secure ? { credentials: { rootCertificate: opts.tls!.ca as Buffer, privateKey: opts.tls!.key, certChain: opts.tls!.cert } } : {}),
      dialTimeout: timeoutMs, // its calls are watches only, which have no deadline
    });
    const store = new EtcdStore(client, new EtcdKeys(opts.prefix || 'secretd'), timeoutMs, opts.endpoints, opts.tls);
    try {
      await store.range({ key: store.keys.swarm, count_only: true });
    } catch (e) {
      client.close();
      store.kv.close();
      throw e;
    }
    // Reads are correct either way; waiting for the cache (within the deadline) makes them fast.
    store.cache.start();
    await store.cache.ready(timeoutMs);
    return store;
  }

  async createSecret(s: NewSecret): Promise<SecretRecord> {
    return this.write(async () => {
      const k = this.keys;
      const meta = encodeMeta({ ...s, updatedAt: s.createdAt });
      const puts: IRequestOp[] = [put(k.secret(s.id), meta), put(k.name(s.name), Buffer.from(s.id))];
      if (s.sealed) puts.push(put(k.sealed(s.id), Buffer.from(s.sealed)));
      const res = await this.group.commit({
        compare: [absent(k.left), absent(k.name(s.name)), absent(k.secret(s.id))],
        success: puts,
        failure: [get(k.left), get(k.name(s.name)), get(k.secret(s.id))],
        touches: [idTouch(s.id), nameTouch(s.name)],
        bytes: meta.length + (s.sealed?.length ?? 0),
      });
      if (!res.succeeded) {
        const [left, owner, mine] = res.responses.map(firstKv);
        if (left) throw new NotInSwarm();
        // A retried call whose first attempt committed finds its own index entry: that is success.
        if (owner?.value.toString() === s.id && mine) return { ...s, updatedAt: s.createdAt, version: Number(mine.mod_revision) };
        throw new NameConflict(s.name);
      }
      return { ...s, updatedAt: s.createdAt, version: Number(res.header.revision) };
    });
  }

  async getSecret(id: string): Promise<SecretRecord | undefined> {
    return this.read(async () => {
      if (id === '') return undefined;
      if (this.cache.live) {
        // The sealed value (not cached) comes with the revision check, in the same transaction.
        const { revision, value } = await this.check.check(this.keys.sealed(id));
        if (await this.cache.waitFor(revision, this.cacheWaitMs)) {
          const meta = this.cache.get(id);
          this.reads.cached++;
          if (!meta) return undefined;
          // A record changed after the check may be newer than the sealed value read with it.
          if (meta.version <= revision) return value ? { ...meta, sealed: value } : { ...meta };
          this.reads.cached--;
        }
      }
      this.reads.direct++;
      return this.directGet(id);
    });
  }

  async findSecrets(q: SecretQuery): Promise<SecretRecord[]> {
    return this.read(async () => {
      if (this.cache.live) {
        const { revision } = await this.check.check();
        if (await this.cache.waitFor(revision, this.cacheWaitMs)) {
          this.reads.cached++;
          return this.cache.find(q);
        }
      }
      this.reads.direct++;
      return this.directFind(q);
    });
  }

  async updateSecretLabels(id: string, expected: number, labels: Record<string, string>, updatedAt: string): Promise<SecretRecord> {
    return this.write(async () => {
      const k = this.keys;
      // The record at a given version never changes: a cached one at `expected` is the one to
      // build on, and the transaction's compare refuses it if the version moved on meanwhile.
      let current = this.cache.get(id);
      if (current?.version !== expected) {
        const seen = await this.txn([], [get(k.left), get(k.secret(id))], []);
        const [wasLeft, meta] = seen.responses.map(firstKv);
        if (wasLeft) throw new NotInSwarm();
        if (!meta) throw new SecretNotFound(id);
        if (Number(meta.mod_revision) !== expected) throw new OutOfSequence();
        current = decodeMeta(id, expected, meta.value);
      }
      const next = encodeMeta({ ...current, labels, updatedAt });
      const res = await this.group.commit({
        compare: [absent(k.left), modIs(k.secret(id), expected)],
        success: [put(k.secret(id), next), get(k.sealed(id))],
        failure: [get(k.left), get(k.secret(id))],
        touches: [idTouch(id)],
        bytes: next.length,
      });
      if (res.succeeded) {
        const updated: SecretRecord = { ...current, labels, updatedAt, version: Number(res.header.revision) };
        const sealed = firstKv(res.responses[1]);
        if (sealed) updated.sealed = sealed.value;
        return updated;
      }
      const [left, now] = res.responses.map(firstKv);
      if (left) throw new NotInSwarm();
      if (!now) throw new SecretNotFound(id);
      // A retried call whose first attempt committed finds exactly what it wrote: that is success.
      if (now.value.equals(next) && Number(now.mod_revision) > expected) {
        const again = await this.getSecret(id);
        if (again) return again;
      }
      throw new OutOfSequence();
    });
  }

  async deleteSecret(id: string): Promise<boolean> {
    return this.write(async () => {
      const k = this.keys;
      // A secret's name never changes: a cached record, even a stale one, knows it.
      const meta = this.cache.get(id) ?? (await this.getMeta(id));
      if (!meta) return false;
      // Only while the record exists: the kept values of an ID in its recovery window are not ours.
      const res = await this.group.commit({
        compare: [present(k.secret(id))],
        success: [del(k.secret(id)), del(k.sealed(id)), delPrefix(k.keptOf(id)), this.dropName(meta.name, id)],
        failure: [],
        touches: [idTouch(id), nameTouch(meta.name)],
        bytes: 0,
      });
      return res.succeeded;
    });
  }

  async listValueVersions(id: string): Promise<ValueVersionInfo[] | undefined> {
    return this.read(async () => {
      if (id === '') return undefined;
      const k = this.keys;
      const res = await this.txn(
        [],
        [get(k.secret(id)), { request_range: { key: k.sealed(id), keys_only: true } }, { request_range: prefixRange(k.keptOf(id)) }],
        [],
      );
      const [meta, sealed] = res.responses.map(firstKv);
      if (!meta) return undefined;
      const out: ValueVersionInfo[] = res.responses[2]!.response_range.kvs.map((kv) => ({
        version: k.keptIdOf(kv.key).version,
        createdAt: decodeKept(kv.value).createdAt,
        current: false,
      }));
      if (sealed) out.push({ ...currentOf(decodeMeta(id, 0, meta.value)), current: true });
      return out.sort((a, b) => a.version - b.version);
    });
  }

  async valueVersion(id: string, version: number): Promise<{ version: number; createdAt: string; sealed: Uint8Array } | undefined> {
    return this.read(async () => {
      if (id === '' || !isVersion(version)) return undefined;
      const k = this.keys;
      const res = await this.txn([], [get(k.secret(id)), get(k.sealed(id)), get(k.kept(id, version))], []);
      const [meta, sealed, kept] = res.responses.map(firstKv);
      if (!meta) return undefined;
      const current = currentOf(decodeMeta(id, 0, meta.value));
      if (version === current.version) return sealed && { ...current, sealed: sealed.value };
      if (!kept) return undefined;
      const v = decodeKept(kept.value);
      return { version, createdAt: v.createdAt, sealed: v.sealed };
    });
  }

  async rotateValue(id: string, next: NewValueVersion, keep: number, updatedAt: string): Promise<{ secret: SecretRecord; dropped: number[] }> {
    return this.write(async () => {
      const k = this.keys;
      let tried: number[] | undefined; // what the last attempt would have dropped
      for (;;) {
        const seen = await this.txn(
          [],
          [get(k.left), get(k.secret(id)), get(k.sealed(id)), { request_range: { ...prefixRange(k.keptOf(id)), keys_only: true } }],
          [],
        );
        const [left, meta, sealed] = seen.responses.map(firstKv);
        if (left) throw new NotInSwarm();
        if (!meta) throw new SecretNotFound(id);
        const record = decodeMeta(id, Number(meta.mod_revision), meta.value);
        // A retried call whose first attempt committed finds its own value current: that is success.
        if (tried && record.valueVersion === next.version && record.valueCreatedAt === next.createdAt && sealed?.value.equals(next.sealed)) {
          return { secret: { ...record, sealed: sealed.value }, dropped: tried };
        }
        if (next.version !== (record.latestValueVersion ?? 1) + 1) throw new OutOfSequence();
        const current = currentOf(record);
        const kept = seen.responses[3]!.response_range.kvs.map((kv) => k.keptIdOf(kv.key).version);
        if (sealed) kept.push(current.version);
        kept.sort((a, b) => a - b);
        // At most `keep` versions in all, the new current one included and never dropped.
        const dropped = kept.slice(0, Math.max(0, kept.length - Math.max(keep - 1, 0)));
        const ops = dropped.filter((v) => v !== current.version).map((v) => del(k.kept(id, v)));
        if (sealed && !dropped.includes(current.version)) {
          ops.push(put(k.kept(id, current.version), encodeKept({ createdAt: current.createdAt, secretCreatedAt: record.createdAt }, sealed.value)));
        }
        const updated: SecretRecord = { ...record, valueVersion: next.version, latestValueVersion: next.version, valueCreatedAt: next.createdAt, updatedAt };
        ops.push(put(k.secret(id), encodeMeta(updated)), put(k.sealed(id), Buffer.from(next.sealed)), put(k.secretsMarker, NOTHING));
        const res = await this.txn([absent(k.left), modIs(k.secret(id), meta.mod_revision), modIs(k.sealed(id), sealed?.mod_revision ?? 0)], ops, []);
        if (res.succeeded) return { secret: { ...updated, version: Number(res.header.revision), sealed: Buffer.from(next.sealed) }, dropped };
        tried = dropped; // another write came between (a labels update, a re-wrap, another rotate): read again
      }
    });
  }

  async rollbackValue(id: string, version: number, updatedAt: string): Promise<SecretRecord> {
    return this.write(async () => {
      const k = this.keys;
      for (;;) {
        const keptKey = k.kept(id, isVersion(version) ? version : 0);
        const seen = await this.txn([], [get(k.left), get(k.secret(id)), get(k.sealed(id)), get(keptKey)], []);
        const [left, meta, sealed, kept] = seen.responses.map(firstKv);
        if (left) throw new NotInSwarm();
        if (!meta) throw new SecretNotFound(id);
        const record = decodeMeta(id, Number(meta.mod_revision), meta.value);
        const current = currentOf(record);
        // Also what a retried call whose first attempt committed finds.
        if (version === current.version) return sealed ? { ...record, sealed: sealed.value } : record;
        if (!kept || !isVersion(version)) throw new VersionNotFound(id, version);
        const back = decodeKept(kept.value);
        const ops = [del(keptKey)];
        if (sealed) ops.push(put(k.kept(id, current.version), encodeKept({ createdAt: current.createdAt, secretCreatedAt: record.createdAt }, sealed.value)));
        const updated: SecretRecord = {
          ...record,
          valueVersion: version,
          latestValueVersion: record.latestValueVersion ?? 1,
          valueCreatedAt: back.createdAt,
          updatedAt,
        };
        ops.push(put(k.secret(id), encodeMeta(updated)), put(k.sealed(id), back.sealed), put(k.secretsMarker, NOTHING));
        const res = await this.txn(
          [absent(k.left), modIs(k.secret(id), meta.mod_revision), modIs(k.sealed(id), sealed?.mod_revision ?? 0), modIs(keptKey, kept.mod_revision)],
          ops,
          [],
        );
        if (res.succeeded) return { ...updated, version: Number(res.header.revision), sealed: Buffer.from(back.sealed) };
      }
    });
  }

  async keptValuesPage(after: KeptValueCursor | undefined, limit: number): Promise<KeptValue[]> {
    return this.read(async () => {
      const k = this.keys;
      const start = after ? Buffer.concat([k.kept(after.secretId, after.version), Buffer.from([0])]) : k.keptOf();
      const res = await this.range({ key: start, range_end: prefixEnd(k.keptOf()), limit });
      return res.kvs.map((kv) => {
        const v = decodeKept(kv.value);
        return { ...k.keptIdOf(kv.key), secretCreatedAt: v.secretCreatedAt, createdAt: v.createdAt, sealed: v.sealed };
      });
    });
  }

  async replaceKeptValues(changes: KeptValueChange[]): Promise<number> {
    return this.write(async () => {
      const k = this.keys;
      const now = await this.batch(changes.map((c) => get(k.kept(c.secretId, c.version))));
      // One transaction per change, each applying only if its own value is unchanged since read.
      const results = await Promise.all(
        changes.map((c, i) => {
          const kv = firstKv(now[i]);
          if (!kv) return false;
          const v = decodeKept(kv.value);
          if (!v.sealed.equals(c.from)) return false;
          const key = k.kept(c.secretId, c.version);
          return this.txn([modIs(key, kv.mod_revision)], [put(key, encodeKept(v, c.to))], []).then((r) => r.succeeded);
        }),
      );
      return results.filter(Boolean).length;
    });
  }

  async removeToRecovery(id: string, removedAt: string, purgeAfter: string): Promise<boolean> {
    return this.write(async () => {
      if (id === '') return false;
      const k = this.keys;
      let tried = false;
      for (;;) {
        const seen = await this.txn([], [get(k.secret(id)), get(k.sealed(id)), get(k.removed(id))], []);
        const [meta, sealed, removed] = seen.responses.map(firstKv);
        // A retried call whose first attempt committed finds the secret in recovery: that is success.
        if (!meta) return tried && removed !== undefined && decodeRemoved(id, removed.value).removedAt === removedAt;
        const record = decodeMeta(id, Number(meta.mod_revision), meta.value);
        const current = currentOf(record);
        const ops = [
          put(k.removed(id), encodeRemoved(record, removedAt, purgeAfter)),
          put(k.removedName(record.name, id), NOTHING),
          put(k.removedDue(purgeAfter, id), NOTHING),
          del(k.secret(id)),
          del(k.sealed(id)),
          this.dropName(record.name, id),
          put(k.secretsMarker, NOTHING),
        ];
        if (sealed) ops.push(put(k.kept(id, current.version), encodeKept({ createdAt: current.createdAt, secretCreatedAt: record.createdAt }, sealed.value)));
        const res = await this.txn([modIs(k.secret(id), meta.mod_revision), modIs(k.sealed(id), sealed?.mod_revision ?? 0)], ops, []);
        if (res.succeeded) return true;
        tried = true;
      }
    });
  }

  async findRemoved(ref: string | undefined): Promise<RemovedSecret[]> {
    return this.read(async () => {
      if (ref === '') return [];
      const k = this.keys;
      if (ref === undefined) {
        const all = (await this.range({ key: k.removed(''), range_end: prefixEnd(k.removed('')) })).kvs;
        return all.map((kv) => decodeRemoved(k.lastPart(kv.key), kv.value)).sort(newestRemovalFirst);
      }
      const res = await this.txn([], [get(k.removed(ref)), { request_range: { ...prefixRange(k.removedName(ref)), keys_only: true } }], []);
      const byId = firstKv(res.responses[0]);
      const ids = new Set(res.responses[1]!.response_range.kvs.map((kv) => k.lastPart(kv.key)));
      if (byId) ids.delete(ref);
      const found = byId ? [decodeRemoved(ref, byId.value)] : [];
      // An index entry whose record is gone was restored or purged in between: it is not listed.
      const records = await this.batch([...ids].map((id) => get(k.removed(id))));
      [...ids].forEach((id, i) => {
        const kv = firstKv(records[i]);
        if (kv) found.push(decodeRemoved(id, kv.value));
      });
      return found.sort(newestRemovalFirst);
    });
  }

  async restoreRemoved(id: string, updatedAt: string): Promise<SecretRecord> {
    return this.write(async () => {
      const k = this.keys;
      let tried = false;
      for (;;) {
        const seen = await this.txn([], [get(k.left), get(k.removed(id)), { request_range: prefixRange(k.keptOf(id)) }], []);
        const [left, removedKv] = seen.responses.map(firstKv);
        if (left) throw new NotInSwarm();
        if (!removedKv) {
          // A retried call whose first attempt committed finds the secret back: that is success.
          const back = tried ? await this.directGet(id) : undefined;
          if (back) return back;
          throw new SecretNotFound(id);
        }
        const { secret, removedAt: _, purgeAfter } = decodeRemoved(id, removedKv.value);
        const current = currentOf(secret);
        const keptKv = seen.responses[2]!.response_range.kvs.find((kv) => k.keptIdOf(kv.key).version === current.version);
        const restored: SecretRecord = { ...secret, updatedAt };
        const ops = [
          put(k.secret(id), encodeMeta(restored)),
          put(k.name(secret.name), Buffer.from(id)),
          del(k.removed(id)),
          del(k.removedName(secret.name, id)),
          del(k.removedDue(purgeAfter, id)),
          put(k.secretsMarker, NOTHING),
        ];
        const value = keptKv && decodeKept(keptKv.value).sealed;
        if (value) ops.push(put(k.sealed(id), value), del(k.kept(id, current.version)));
        const res = await this.txn(
          [
            absent(k.left),
            modIs(k.removed(id), removedKv.mod_revision),
            absent(k.name(secret.name)),
            modIs(k.kept(id, current.version), keptKv?.mod_revision ?? 0),
          ],
          ops,
          [get(k.left), get(k.name(secret.name)), get(k.secret(id))],
        );
        if (res.succeeded) {
          const r: SecretRecord = { ...restored, version: Number(res.header.revision) };
          if (value) r.sealed = Buffer.from(value);
          return r;
        }
        const [nowLeft, owner, live] = res.responses.map(firstKv);
        if (nowLeft) throw new NotInSwarm();
        if (owner) {
          // Our own earlier attempt committed (a retried call): the secret is back under its name.
          const back = owner.value.toString() === id && live ? await this.directGet(id) : undefined;
          if (back) return back;
          throw new NameConflict(secret.name);
        }
        tried = true; // a re-wrap of its value, or another restore, came between: read again
      }
    });
  }

  async purgeRemoved(id: string): Promise<boolean> {
    return this.write(async () => {
      if (id === '') return false;
      const k = this.keys;
      for (;;) {
        const kv = (await this.range({ key: k.removed(id) })).kvs[0];
        if (!kv) return false;
        const { secret, purgeAfter } = decodeRemoved(id, kv.value);
        const res = await this.txn(
          [modIs(k.removed(id), kv.mod_revision)],
          [del(k.removed(id)), del(k.removedName(secret.name, id)), del(k.removedDue(purgeAfter, id)), delPrefix(k.keptOf(id))],
          [],
        );
        if (res.succeeded) return true;
      }
    });
  }

  async expiredRemoved(now: string, limit: number): Promise<RemovedSecret[]> {
    return this.read(async () => {
      if (now === '') return [];
      const k = this.keys;
      // Keys sort by purgeAfter, then ID; every one at or before `now` is below `removed-due/<now>0`.
      const due = await this.range({ key: k.removedDue(''), range_end: prefixEnd(k.removedDue(now)), limit, keys_only: true });
      const ids = due.kvs.map((kv) => k.lastPart(kv.key));
      const records = await this.batch(ids.map((id) => get(k.removed(id))));
      return ids.flatMap((id, i) => {
        const kv = firstKv(records[i]);
        return kv ? [decodeRemoved(id, kv.value)] : [];
      });
    });
  }

  async sealedPage(afterId: string, limit: number): Promise<SealedEntry[]> {
    return this.read(async () => {
      const k = this.keys;
      const start = Buffer.concat([k.sealed(afterId), Buffer.from([0])]); // the first key after afterId's
      const sealed = (await this.range({ key: start, range_end: prefixEnd(k.sealedAll()), limit })).kvs;
      const metas = await this.batch(sealed.map((kv) => get(k.secret(k.sealedIdOf(kv.key)))));
      const out: SealedEntry[] = [];
      sealed.forEach((kv, i) => {
        const meta = metas[i]?.response_range.kvs[0];
        const id = k.sealedIdOf(kv.key);
        // A value whose record is gone was deleted in between.
        if (!meta) return;
        const record = decodeMeta(id, 0, meta.value);
        const entry: SealedEntry = { id, createdAt: record.createdAt, sealed: kv.value };
        if (record.valueVersion !== undefined) entry.valueVersion = record.valueVersion;
        out.push(entry);
      });
      return out;
    });
  }

  async replaceSealed(changes: SealedChange[]): Promise<number> {
    return this.write(async () => {
      const k = this.keys;
      // One transaction per change: each applies only if its own value is unchanged.
      const results = await Promise.all(
        changes.map((c) =>
          this.txn([{ key: k.sealed(c.id), target: 'Value', result: 'Equal', value: Buffer.from(c.from) }], [put(k.sealed(c.id), Buffer.from(c.to))], []),
        ),
      );
      return results.filter((r) => r.succeeded).length;
    });
  }

  async readSwarm(): Promise<SwarmRecord | undefined> {
    return this.read(async () => {
      const kv = (await this.range({ key: this.keys.swarm })).kvs[0];
      return kv && decodeSwarm(kv);
    });
  }

  async writeSwarm(swarm: SwarmRecord): Promise<number> {
    return this.write(async () => {
      const res = await this.txn([], this.swarmOps(swarm), []);
      return Number(res.header.revision);
    }, true);
  }

  /**
   * Saves `swarm` only if no active swarm is stored; AlreadyInSwarm otherwise. Daemons that
   * start together on an empty etcd so initialise one swarm, not one each.
   */
  async initSwarm(swarm: SwarmRecord): Promise<number> {
    return this.write(async () => {
      const k = this.keys;
      for (;;) {
        const seen = await this.txn([], [get(k.swarm), get(k.left)], []);
        const [record, left] = seen.responses.map(firstKv);
        if (record && !left && decodeSwarm(record).state === 'active') throw new AlreadyInSwarm();
        const res = await this.txn([{ key: k.swarm, target: 'Mod', result: 'Equal', mod_revision: record?.mod_revision ?? 0 }], this.swarmOps(swarm), []);
        if (res.succeeded) return Number(res.header.revision);
      }
    }, true);
  }

  async leaveSwarm(left: SwarmRecord): Promise<void> {
    const k = this.keys;
    await this.write(
      () =>
        this.txn(
          [],
          [
            { request_delete_range: prefixRange(k.secrets()) },
            { request_delete_range: prefixRange(k.sealedAll()) },
            { request_delete_range: prefixRange(k.name('')) },
            delPrefix(k.keptOf()),
            delPrefix(k.removed('')),
            delPrefix(k.removedName('')),
            delPrefix(k.removedDue('')),
            put(k.secretsMarker, NOTHING),
            ...this.swarmOps(left),
          ],
          [],
        ),
      true,
    );
  }

  async createToken(t: TokenRecord): Promise<void> {
    await this.write(async () => {
      const key = this.keys.token(t.id);
      const res = await this.txn([absent(key)], [put(key, Buffer.from(JSON.stringify(t)))], [get(key)]);
      if (res.succeeded) return;
      // A retried call whose first attempt committed finds its own record: that is success.
      if (firstKv(res.responses[0])?.value.equals(Buffer.from(JSON.stringify(t)))) return;
      throw new NameConflict(`token ${t.id}`);
    });
  }

  async getToken(id: string): Promise<TokenRecord | undefined> {
    return this.read(async () => {
      if (id === '') return undefined;
      const kv = (await this.range({ key: this.keys.token(id) })).kvs[0];
      return kv && decodeToken(kv);
    });
  }

  async listTokens(): Promise<TokenRecord[]> {
    return this.read(async () => (await this.range(prefixRange(this.keys.token('')))).kvs.map(decodeToken));
  }

  async deleteToken(id: string): Promise<boolean> {
    return this.write(async () => {
      if (id === '') return false;
      const res = await this.txn([], [del(this.keys.token(id))], []);
      return Number(res.responses[0]?.response_delete_range?.deleted ?? 0) > 0;
    });
  }

  /** Calls `onChange` with the swarm state whenever any daemon changes it; settles once the watch is live. */
  async watchSwarm(onChange: (swarm: SwarmRecord) => void): Promise<void> {
    if (this.closed || this.watcher) return;
    this.watcher = this.client.watch().key(this.keys.swarm).create();
    const w = await this.watcher.catch(() => undefined);
    w?.on('put', (kv) => onChange(decodeSwarm(kv)));
    w?.on('error', () => {}); // the client reconnects the watch by itself
  }

  /**
   * Stores `sealed` as the deployment's keyring check if there is none yet, and returns the one
   * stored: the caller proves its keyring can open it.
   */
  async keyringCheck(sealed: Uint8Array): Promise<Uint8Array> {
    return this.write(async () => {
      const key = this.keys.keyringCheck;
      const res = await this.txn([absent(key)], [put(key, Buffer.from(sealed))], [get(key)]);
      return res.succeeded ? sealed : firstKv(res.responses[0])!.value;
    });
  }

  async readKeyringCheck(): Promise<Uint8Array | undefined> {
    return this.read(async () => firstKv((await this.txn([], [get(this.keys.keyringCheck)], [])).responses[0])?.value);
  }

  async replaceKeyringCheck(from: Uint8Array, to: Uint8Array): Promise<boolean> {
    return this.write(async () => {
      const key = this.keys.keyringCheck;
      const res = await this.txn([valueIs(key, Buffer.from(from))], [put(key, Buffer.from(to))], []);
      return res.succeeded;
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.inFlight]); // writes already accepted still complete
    await this.cache.close();
    const w = await this.watcher?.catch(() => undefined);
    await w?.cancel().catch(() => {});
    this.client.close();
    this.kv.close();
  }

  private get cacheWaitMs(): number {
    return Math.min(CACHE_WAIT_MS, this.timeoutMs / 2);
  }

  /** The swarm record and its marker, written together. */
  private swarmOps(swarm: SwarmRecord): IRequestOp[] {
    const saved = swarm.cluster ? { ...swarm, cluster: { ...swarm.cluster, version: 0 } } : swarm;
    const marker = swarm.state === 'active' ? del(this.keys.left) : put(this.keys.left, Buffer.from('1'));
    return [put(this.keys.swarm, Buffer.from(JSON.stringify(saved))), marker];
  }

  /** Deletes the name's index entry only if it still points at secret `id`, inside the caller's transaction. */
  private dropName(name: string, id: string): IRequestOp {
    const key = this.keys.name(name);
    return { request_txn: { compare: [valueIs(key, Buffer.from(id))], success: [del(key)], failure: [] } };
  }

  /** getSecret without the cache: the record and its value, read from etcd. */
  private async directGet(id: string): Promise<SecretRecord | undefined> {
    const res = await this.txn([], [get(this.keys.secret(id)), get(this.keys.sealed(id))], []);
    const [meta, sealed] = res.responses.map(firstKv);
    if (!meta) return undefined;
    const r = decodeMeta(id, Number(meta.mod_revision), meta.value);
    if (sealed) r.sealed = sealed.value;
    return r;
  }

  /** findSecrets without the cache: index entries and record ranges read from etcd. */
  private async directFind(q: SecretQuery): Promise<SecretRecord[]> {
    const k = this.keys;
    // Lower-cased, deduplicated, covered prefixes dropped: one range per criterion left, in
    // transactions of MAX_TXN_OPS, however long the filter list.
    const { names, namePrefixes, idPrefixes, all } = compactQuery(q);
    const labels = q.labels ?? new Map<string, string>();
    const found = new Map<string, SecretRecord>();
    const keep = (kv: IKeyValue) => {
      const id = k.idOf(kv.key);
      const r = decodeMeta(id, Number(kv.mod_revision), kv.value);
      if (labelsMatch(r, labels)) found.set(id, r);
    };
    if (all) {
      (await this.range(prefixRange(k.secrets()))).kvs.forEach(keep);
      return [...found.values()];
    }
    // Names lead to IDs through the index; ID prefixes are ranges of the records themselves.
    const lookups = [...names.map((n) => get(k.name(n))), ...namePrefixes.map((p) => ({ request_range: prefixRange(k.name(p)) }))];
    const ids = new Set<string>();
    for (const res of await this.batch(lookups)) for (const kv of res.response_range.kvs) ids.add(kv.value.toString());
    for (const res of await this.batch(idPrefixes.map((p) => ({ request_range: prefixRange(k.secrets(p)) })))) {
      res.response_range.kvs.forEach(keep);
    }
    const missing = [...ids].filter((id) => !found.has(id));
    // An index entry whose record is gone was deleted in between: it simply is not listed.
    for (const res of await this.batch(missing.map((id) => get(k.secret(id))))) res.response_range.kvs.forEach(keep);
    return [...found.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  private async getMeta(id: string): Promise<SecretRecord | undefined> {
    const kv = (await this.range({ key: this.keys.secret(id) })).kvs[0];
    return kv && decodeMeta(id, Number(kv.mod_revision), kv.value);
  }

  private txn(compare: ICompare[], success: IRequestOp[], failure: IRequestOp[]): Promise<ITxnResponse> {
    return this.kvCall((deadline) => this.kv.txn({ compare, success, failure }, deadline));
  }

  private range(request: IRangeRequest): Promise<IRangeResponse> {
    return this.kvCall((deadline) => this.kv.get(request, deadline));
  }

  /** Read-only operations in transactions of at most MAX_TXN_OPS each. */
  private async batch(ops: IRequestOp[]) {
    const out = [];
    for (let i = 0; i < ops.length; i += MAX_TXN_OPS) out.push(...(await this.txn([], ops.slice(i, i + MAX_TXN_OPS), [])).responses);
    return out;
  }

  /** A KV call (etcd-kv.ts) under the store's deadline; any failure of etcd becomes StoreUnavailable. */
  private async kvCall<T>(fn: (deadline: number) => Promise<T>): Promise<T> {
    try {
      return await fn(Date.now() + this.timeoutMs);
    } catch (e) {
      if (e instanceof EtcdCallError && e.timedOut) throw new StoreUnavailable(`etcd at ${this.where} did not answer within ${this.timeoutMs} ms (no quorum?)`);
      throw new StoreUnavailable(`etcd at ${this.where} is unavailable: ${(e as Error).message}`, { cause: e });
    }
  }

  private read<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new StoreUnavailable('the store is closed'));
    return this.track(fn());
  }

  private write<T>(fn: () => Promise<T>, fenced = false): Promise<T> {
    if (this.closed) return Promise.reject(new StoreUnavailable('the store is closed'));
    const run = () => fn();
    let p: Promise<T>;
    if (fenced) {
      p = Promise.allSettled([...this.writes]).then(run);
      this.fence = p;
      const lift = () => {
        if (this.fence === p) this.fence = undefined;
      };
      p.then(lift, lift);
    } else {
      p = this.fence ? this.fence.then(run, run) : fn();
    }
    this.writes.add(p);
    const done = () => this.writes.delete(p);
    p.then(done, done);
    return this.track(p);
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inFlight.add(p);
    const done = () => this.inFlight.delete(p);
    p.then(done, done);
    return p;
  }
}

/** The etcd3 module, imported on first use only: SQLite deployments never load gRPC. */
async function loadClient(): Promise<typeof import('etcd3')> {
  const mod = (await import('etcd3')) as typeof import('etcd3') & { default?: typeof import('etcd3') };
  return mod.default ?? mod;
}

const NOTHING = Buffer.alloc(0);
const put = (key: Buffer, value: Buffer): IRequestOp => ({ request_put: { key, value } });
const get = (key: Buffer): IRequestOp => ({ request_range: { key } });
const del = (key: Buffer): IRequestOp => ({ request_delete_range: { key } });
const valueIs = (key: Buffer, value: Buffer): ICompare => ({ key, target: 'Value', result: 'Equal', value });
const absent = (key: Buffer): ICompare => ({ key, target: 'Create', result: 'Equal', create_revision: 0 });
const present = (key: Buffer): ICompare => ({ key, target: 'Create', result: 'Greater', create_revision: 0 });
/** The key is still at the revision read (0: still absent). */
const modIs = (key: Buffer, revision: string | number): ICompare => ({ key, target: 'Mod', result: 'Equal', mod_revision: revision });
const delPrefix = (key: Buffer): IRequestOp => ({ request_delete_range: prefixRange(key) });
/** What a grouped write touches (etcd-group-commit.ts): a secret by ID, a name regardless of case. */
const idTouch = (id: string) => `id:${id}`;
const nameTouch = (name: string) => `name:${name.toLowerCase()}`;
/** Kept version numbers are positive integers; anything else is simply not kept. */
const isVersion = (v: number) => Number.isSafeInteger(v) && v > 0;

/** Which version a record's current value is, and when it was stored (never rotated: 1, at creation). */
function currentOf(r: SecretRecord): { version: number; createdAt: string } {
  return { version: r.valueVersion ?? 1, createdAt: r.valueCreatedAt ?? r.createdAt };
}
const prefixRange = (key: Buffer) => ({ key, range_end: prefixEnd(key) });
const firstKv = (r: ITxnResponse['responses'][number] | undefined): IKeyValue | undefined => r?.response_range?.kvs[0];

function decodeToken(kv: IKeyValue): TokenRecord {
  const t = JSON.parse(kv.value.toString()) as TokenRecord;
  return { id: t.id, hash: t.hash, allow: t.allow, description: t.description, createdAt: t.createdAt };
}

function decodeSwarm(kv: IKeyValue): SwarmRecord {
  const s = JSON.parse(kv.value.toString()) as SwarmRecord;
  if (s.cluster) s.cluster.version = Number(kv.mod_revision);
  return s;
}

/** findRemoved's order: the most recent removal first, then by ID. */
function newestRemovalFirst(a: RemovedSecret, b: RemovedSecret): number {
  if (a.removedAt !== b.removedAt) return a.removedAt > b.removedAt ? -1 : 1;
  return a.secret.id < b.secret.id ? -1 : a.secret.id > b.secret.id ? 1 : 0;
}
