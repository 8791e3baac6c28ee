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
 * Every call has a deadline (`timeoutMs`): without a quorum it fails with StoreUnavailable
 * (503) instead of hanging.
 */
import type { Etcd3, ICompare, IKeyValue, IRequestOp, ITxnResponse, Watcher } from 'etcd3';
import type { TokenRecord } from '../delivery/types.ts';
import { AlreadyInSwarm, NameConflict, NotInSwarm, OutOfSequence, SecretNotFound, StoreUnavailable, isSecretdError } from '../secrets/errors.ts';
import type { SecretRecord } from '../secrets/types.ts';
import type { SwarmRecord } from '../swarm/types.ts';
import { decodeMeta, encodeMeta, EtcdKeys, prefixEnd } from './etcd-keys.ts';
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

/** etcd's default limit of operations in one transaction (--max-txn-ops). */
const MAX_TXN_OPS = 128;

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

  private constructor(
    private readonly client: Etcd3,
    private readonly keys: EtcdKeys,
    private readonly timeoutMs: number,
    private readonly where: string,
  ) {}

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
    return store;
  }

  async createSecret(s: NewSecret): Promise<SecretRecord> {
    return this.write(async () => {
      const k = this.keys;
      const puts: IRequestOp[] = [
        put(k.secret(s.id), encodeMeta({ ...s, updatedAt: s.createdAt })),
        put(k.name(s.name), Buffer.from(s.id)),
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
      const res = await this.txn([], [get(this.keys.secret(id)), get(this.keys.sealed(id))], []);
      const [meta, sealed] = res.responses.map(firstKv);
      if (!meta) return undefined;
      const r = decodeMeta(id, Number(meta.mod_revision), meta.value);
      if (sealed) r.sealed = sealed.value;
      return r;
    });
  }

  async findSecrets(q: SecretQuery): Promise<SecretRecord[]> {
    return this.read(async () => {
      const k = this.keys;
      const names = q.names ?? [];
      const namePrefixes = q.namePrefixes ?? [];
      const idPrefixes = q.idPrefixes ?? [];
      const found = new Map<string, SecretRecord>();
      const keep = (kv: IKeyValue) => {
        const id = k.idOf(kv.key);
        found.set(id, decodeMeta(id, Number(kv.mod_revision), kv.value));
      };
      if (names.length + namePrefixes.length + idPrefixes.length === 0) {
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
    });
  }

  async updateSecretLabels(id: string, expected: number, labels: Record<string, string>, updatedAt: string): Promise<SecretRecord> {
    return this.write(async () => {
      const k = this.keys;
      const seen = await this.txn([], [get(k.left), get(k.secret(id))], []);
      const [wasLeft, meta] = seen.responses.map(firstKv);
      if (wasLeft) throw new NotInSwarm();
      if (!meta) throw new SecretNotFound(id);
      if (Number(meta.mod_revision) !== expected) throw new OutOfSequence();
      const current = decodeMeta(id, expected, meta.value);
      const next = encodeMeta({ ...current, labels, updatedAt });
      const res = await this.txn(
        [absent(k.left), { key: k.secret(id), target: 'Mod', result: 'Equal', mod_revision: expected }],
        [put(k.secret(id), next), get(k.sealed(id))],
        [get(k.left), get(k.secret(id))],
      );
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
      const meta = await this.getMeta(id);
      if (!meta) return false;
      // Only the index entry that still points at this secret goes with it.
      const res = await this.txn(
        [{ key: k.name(meta.name), target: 'Value', result: 'Equal', value: Buffer.from(id) }],
        [del(k.secret(id)), del(k.sealed(id)), del(k.name(meta.name))],
        [del(k.secret(id)), del(k.sealed(id))],
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

  /** Calls `onChange` with the swarm state whenever any daemon changes it. */
  watchSwarm(onChange: (swarm: SwarmRecord) => void): void {
    if (this.closed || this.watcher) return;
    this.watcher = this.client.watch().key(this.keys.swarm).create();
    this.watcher.then(
      (w) => {
        w.on('put', (kv) => onChange(decodeSwarm(kv)));
        w.on('error', () => {}); // the client reconnects the watch by itself
      },
      () => {},
    );
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
    const w = await this.watcher?.catch(() => undefined);
    await w?.cancel().catch(() => {});
    this.client.close();
  }

  /** The swarm record and its marker, written together. */
  private swarmOps(swarm: SwarmRecord): IRequestOp[] {
    const saved = swarm.cluster ? { ...swarm, cluster: { ...swarm.cluster, version: 0 } } : swarm;
    const marker = swarm.state === 'active' ? del(this.keys.left) : put(this.keys.left, Buffer.from('1'));
    return [put(this.keys.swarm, Buffer.from(JSON.stringify(saved))), marker];
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
