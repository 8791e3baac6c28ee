/**
 * The distributed store: etcd v3 through the `etcd3` client, loaded only when a daemon is
 * started with `--store etcd://…`. Several daemons over one etcd act as one swarm: every rule
 * that must hold across them is an etcd transaction, so etcd's raft log is the only replication.
 *
 * - Name uniqueness: a create requires the name's index key (lower-cased) to be absent.
 * - Version compare-and-set: an update requires the record's mod_revision to be the version
 *   the caller saw. Versions are etcd revisions, strictly increasing across all daemons.
 * - Swarm leave: every write requires the `left` marker absent; leaving deletes every secret
 *   and sets the marker in one transaction. Key layout: src/store/etcd-keys.ts.
 *
 * Reads are linearizable and served from memory: a watch-fed cache of the secrets' metadata
 * (etcd-cache.ts) answers once it has applied the revision of the last change to any secret,
 * which one quorum read shared by concurrent reads learns (etcd-revision-check.ts); while the
 * cache is not live they read etcd directly, as they did before it. Each write is one
 * transaction that also puts the secrets' change marker.
 *
 * Every call has a deadline (`timeoutMs`): without a quorum it fails with StoreUnavailable
 * (503) instead of hanging.
 */
import type { Etcd3, ICompare, IKeyValue, IRequestOp, ITxnResponse, Watcher } from 'etcd3';
import type { TokenRecord } from './records.ts';
import { AlreadyInSwarm, NameConflict, NotInSwarm, OutOfSequence, SecretNotFound, StoreUnavailable, isSecretdError } from '../core/errors.ts';
import type { SecretRecord } from './records.ts';
import type { SwarmRecord } from './records.ts';
import { EtcdSecretsCache } from './etcd-cache.ts';
import { decodeMeta, encodeMeta, EtcdKeys, prefixEnd } from './etcd-keys.ts';
import { compactQuery } from './secret-query.ts';
import { MAX_TXN_OPS, RevisionCheck } from './etcd-revision-check.ts';
import { labelsMatch } from './secret-index.ts';
import type { NewSecret, SealedChange, SealedEntry, SecretQuery, Store } from './types.ts';

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
  private readonly check: RevisionCheck;

  private constructor(
    private readonly client: Etcd3,
    private readonly keys: EtcdKeys,
    private readonly timeoutMs: number,
    private readonly where: string,
  ) {
    this.cache = new EtcdSecretsCache(client, keys, (fn) => this.call(fn));
    this.check = new RevisionCheck(keys.secretsMarker, (ops) => this.txn([], ops, []));
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
      dialTimeout: timeoutMs,
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + timeoutMs }),
    });
    const store = new EtcdStore(client, new EtcdKeys(opts.prefix || 'secretd'), timeoutMs, opts.endpoints.join(','));
    try {
      await store.call(() => client.kv.range({ key: store.keys.swarm, count_only: true }));
    } catch (e) {
      client.close();
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
      const puts: IRequestOp[] = [
        put(k.secret(s.id), encodeMeta({ ...s, updatedAt: s.createdAt })),
        put(k.name(s.name), Buffer.from(s.id)),
        put(k.secretsMarker, NOTHING),
      ];
      if (s.sealed) puts.push(put(k.sealed(s.id), Buffer.from(s.sealed)));
      const res = await this.txn(
        [absent(k.left), absent(k.name(s.name)), absent(k.secret(s.id))],
        puts,
        [get(k.left), get(k.name(s.name)), get(k.secret(s.id))],
      );
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
      const res = await this.txn(
        [absent(k.left), { key: k.secret(id), target: 'Mod', result: 'Equal', mod_revision: expected }],
        [put(k.secret(id), next), put(k.secretsMarker, NOTHING), get(k.sealed(id))],
        [get(k.left), get(k.secret(id))],
      );
      if (res.succeeded) {
        const updated: SecretRecord = { ...current, labels, updatedAt, version: Number(res.header.revision) };
        const sealed = firstKv(res.responses[2]);
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
      // Only the index entry that still points at this secret goes with it.
      const res = await this.txn(
        [{ key: k.name(meta.name), target: 'Value', result: 'Equal', value: Buffer.from(id) }],
        [del(k.secret(id)), del(k.sealed(id)), del(k.name(meta.name)), put(k.secretsMarker, NOTHING)],
        [del(k.secret(id)), del(k.sealed(id)), put(k.secretsMarker, NOTHING)],
      );
      return Number(res.responses[0]?.response_delete_range.deleted ?? 0) > 0;
    });
  }

  async sealedPage(afterId: string, limit: number): Promise<SealedEntry[]> {
    return this.read(async () => {
      const k = this.keys;
      const start = Buffer.concat([k.sealed(afterId), Buffer.from([0])]); // the first key after afterId's
      const sealed = (await this.call(() => this.client.kv.range({ key: start, range_end: prefixEnd(k.sealedAll()), limit }))).kvs;
      const metas = await this.batch(sealed.map((kv) => get(k.secret(k.sealedIdOf(kv.key)))));
      const out: SealedEntry[] = [];
      sealed.forEach((kv, i) => {
        const meta = metas[i]?.response_range.kvs[0];
        const id = k.sealedIdOf(kv.key);
        // A value whose record is gone was deleted in between.
        if (meta) out.push({ id, createdAt: decodeMeta(id, 0, meta.value).createdAt, sealed: kv.value });
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
      const kv = (await this.call(() => this.client.kv.range({ key: this.keys.swarm }))).kvs[0];
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
        this.txn([], [
          { request_delete_range: prefixRange(k.secrets()) },
          { request_delete_range: prefixRange(k.sealedAll()) },
          { request_delete_range: prefixRange(k.name('')) },
          put(k.secretsMarker, NOTHING),
          ...this.swarmOps(left),
        ], []),
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
      const kv = (await this.call(() => this.client.kv.range({ key: this.keys.token(id) }))).kvs[0];
      return kv && decodeToken(kv);
    });
  }

  async listTokens(): Promise<TokenRecord[]> {
    return this.read(async () => (await this.call(() => this.client.kv.range(prefixRange(this.keys.token(''))))).kvs.map(decodeToken));
  }

  async deleteToken(id: string): Promise<boolean> {
    return this.write(async () => {
      if (id === '') return false;
      const res = await this.call(() => this.client.kv.deleteRange({ key: this.keys.token(id) }));
      return Number(res.deleted) > 0;
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
      (await this.call(() => this.client.kv.range(prefixRange(k.secrets())))).kvs.forEach(keep);
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
    const kv = (await this.call(() => this.client.kv.range({ key: this.keys.secret(id) }))).kvs[0];
    return kv && decodeMeta(id, Number(kv.mod_revision), kv.value);
  }

  private txn(compare: ICompare[], success: IRequestOp[], failure: IRequestOp[]): Promise<ITxnResponse> {
    return this.call(() => this.client.kv.txn({ compare, success, failure }));
  }

  /** Read-only operations in transactions of at most MAX_TXN_OPS each. */
  private async batch(ops: IRequestOp[]) {
    const out = [];
    for (let i = 0; i < ops.length; i += MAX_TXN_OPS) out.push(...(await this.txn([], ops.slice(i, i + MAX_TXN_OPS), [])).responses);
    return out;
  }

  /** One etcd call under the store's deadline; any failure of etcd becomes StoreUnavailable. */
  private async call<T>(fn: () => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new StoreUnavailable(`etcd at ${this.where} did not answer within ${this.timeoutMs} ms (no quorum?)`)), this.timeoutMs);
    });
    try {
      return await Promise.race([fn(), deadline]);
    } catch (e) {
      if (isSecretdError(e)) throw e;
      throw new StoreUnavailable(`etcd at ${this.where} is unavailable: ${(e as Error).message}`, { cause: e });
    } finally {
      clearTimeout(timer);
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
