/**
 * The etcd store's watch-fed cache of secrets' metadata (no sealed values): one range of the
 * secrets at a revision R, then a watch from R+1, applied in revision order to a SecretIndex.
 * `applied` is the revision up to which every change is reflected; a read that learnt from a
 * quorum read (etcd-revision-check.ts) that the last change to any secret has revision M may
 * answer from the cache once `applied >= M`. The watch range holds the change marker
 * (etcd-keys.ts), which every write of a secret puts, so that revision M always arrives on this
 * watch, whatever else the cluster is writing.
 *
 * The cache is only used while `live`. It is not while loading, while the watch is lost or
 * cancelled (compaction), and after a read waited too long for the watch (a member that stopped
 * sending it events): then it resumes from `applied + 1`, or lists again when that revision is
 * compacted, and reads meanwhile go to etcd directly. It never answers with less than M.
 */
import type { Etcd3, IRangeRequest, IRangeResponse, IWatchResponse, Watcher } from 'etcd3';
import type { SecretRecord } from './records.ts';
import { decodeMeta, prefixEnd, type EtcdKeys } from './etcd-keys.ts';
import { SecretIndex } from './secret-index.ts';
import type { SecretQuery } from './types.ts';

/** Keys per range while listing: a page stays far below gRPC's 4 MiB message limit. */
const PAGE = 2000;
/** Backoff between attempts to watch again, doubling from the first to the last. */
const RETRY_MS = [50, 100, 200, 400, 800, 1600];

type Ending = 'lost' | 'compacted' | 'stalled' | 'closed';

interface Waiter {
  revision: number;
  done(ok: boolean): void;
}

export class EtcdSecretsCache {
  private index = new SecretIndex();
  private applied = 0;
  private state: 'loading' | 'live' | 'down' = 'loading';
  private closed = false;
  /** Reads waiting for `applied` to reach their revision, in ascending revision order. */
  private waiters: Waiter[] = [];
  /** Ends the current watch, if there is one. */
  private endWatch: ((why: Ending) => void) | undefined;
  private watcher: Watcher | undefined;
  private wakeUp: (() => void) | undefined;
  /** Called when the cache goes live. */
  private onLive: (() => void)[] = [];
  private readonly secretsPrefix: Buffer;
  private readonly rangeEnd: Buffer;

  private readonly client: Etcd3;
  private readonly keys: EtcdKeys;
  private readonly range: (request: IRangeRequest) => Promise<IRangeResponse>;
  /** `client` watches; `range` reads a range under the store's deadline. */
  constructor(client: Etcd3, keys: EtcdKeys, range: (request: IRangeRequest) => Promise<IRangeResponse>) {
    this.client = client;
    this.keys = keys;
    this.range = range;
    this.secretsPrefix = keys.secrets();
    this.rangeEnd = prefixEnd(this.secretsPrefix);
  }

  /** True while the watch is connected; reads may then wait for a revision. */
  get live(): boolean {
    return this.state === 'live' && !this.closed;
  }

  /** Starts listing and watching in the background; the cache goes live when both are done. */
  start(): void {
    void this.run();
  }

  /** Resolves true once the cache is live, false if it is not within `ms`. */
  ready(ms: number): Promise<boolean> {
    if (this.live) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(this.live), ms);
      this.onLive.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /**
   * The cached record, as of `applied`: current only after waitFor resolved true; before, good
   * for what never changes (a secret's name) or what a write compares anyway (its version).
   */
  get(id: string): SecretRecord | undefined {
    return this.index.get(id);
  }

  /** The matching secrets as of `applied` (see get). */
  find(q: SecretQuery): SecretRecord[] {
    return this.index.find(q);
  }

  /**
   * Resolves true once every change up to `revision` is applied, false if that takes longer
   * than `ms` or the cache stops being live first (then the watch is started again).
   */
  waitFor(revision: number, ms: number): Promise<boolean> | boolean {
    if (!this.live) return false;
    if (this.applied >= revision) return true;
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.endWatch?.('stalled');
        finish(false);
      }, ms);
      let settled = false;
      const finish = (ok: boolean) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(ok);
      };
      const w: Waiter = { revision, done: finish };
      let i = this.waiters.length;
      while (i > 0 && this.waiters[i - 1]!.revision > revision) i--;
      this.waiters.splice(i, 0, w);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.endWatch?.('closed');
    this.wakeUp?.();
    this.release(false);
  }

  private async run(): Promise<void> {
    let relist = true;
    let failures = 0;
    while (!this.closed) {
      let ending: Ending = 'lost';
      try {
        if (relist) await this.list();
        relist = false;
        ending = await this.watch(() => (failures = 0));
      } catch (e) {
        if (isCompacted(e)) relist = true;
      }
      if (ending === 'compacted') relist = true;
      if (this.closed) break;
      this.state = 'down';
      this.release(false);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, RETRY_MS[Math.min(failures++, RETRY_MS.length - 1)]);
        this.wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeUp = undefined;
    }
  }

  /** Every secret at one revision, page by page; `applied` becomes that revision. */
  private async list(): Promise<void> {
    this.state = 'loading';
    this.index.clear();
    const index = new SecretIndex();
    let revision = 0;
    let from = this.keys.secretsMarker;
    for (;;) {
      const res = await this.range({ key: from, range_end: this.rangeEnd, limit: PAGE, ...(revision ? { revision } : {}) });
      if (revision === 0) revision = Number(res.header.revision);
      for (const kv of res.kvs) {
        const id = this.idOf(kv.key);
        const r = id === undefined ? undefined : decoded(id, Number(kv.mod_revision), kv.value);
        if (r) index.put(r);
      }
      if (!res.more || res.kvs.length === 0) break;
      from = Buffer.concat([res.kvs[res.kvs.length - 1]!.key, Buffer.from([0])]);
    }
    this.index = index;
    this.applied = revision;
  }

  /** Watches from `applied + 1` until the watch ends; resolves with why. */
  private watch(connected: () => void): Promise<Ending> {
    return new Promise<Ending>((resolve) => {
      const w = this.client
        .watch()
        .inRange({ start: this.keys.secretsMarker, end: this.rangeEnd })
        .startRevision(String(this.applied + 1))
        .watcher();
      this.watcher = w;
      let over = false;
      const end = (why: Ending) => {
        if (over) return;
        over = true;
        this.endWatch = undefined;
        this.watcher = undefined;
        if (this.state === 'live') this.state = 'down';
        this.release(false);
        w.removeAllListeners('data');
        w.on('error', () => {}); // a late cancel error of a watch already given up
        void w.cancel().catch(() => {});
        resolve(why);
      };
      this.endWatch = end;
      w.on('connected', () => {
        if (over) return;
        connected();
        this.state = 'live';
        for (const f of this.onLive.splice(0)) f();
      });
      w.on('data', (res: IWatchResponse) => this.apply(res));
      w.on('disconnected', () => end('lost'));
      w.on('error', (e: Error) => end(isCompacted(e) ? 'compacted' : 'lost'));
      if (this.closed) end('closed');
    });
  }

  private apply(res: IWatchResponse): void {
    let top = this.applied;
    for (const ev of res.events) {
      const revision = Number(ev.kv.mod_revision);
      if (revision <= this.applied) continue; // already part of the list or applied
      const id = this.idOf(ev.kv.key);
      if (id !== undefined) {
        const r = ev.type === 'Put' ? decoded(id, revision, ev.kv.value) : undefined;
        if (r) this.index.put(r);
        else this.index.remove(id);
      }
      if (revision > top) top = revision;
    }
    this.applied = top;
    this.release(true);
  }

  /** Wakes the waiters whose revision is applied (`ok`), or every one (`!ok`: they read etcd). */
  private release(ok: boolean): void {
    let n = 0;
    while (n < this.waiters.length && (!ok || this.waiters[n]!.revision <= this.applied)) n++;
    if (n === 0) return;
    for (const w of this.waiters.splice(0, n)) w.done(ok);
  }

  /** The secret ID of a key in the watched range; undefined for the change marker. */
  private idOf(key: Buffer): string | undefined {
    if (key.length <= this.secretsPrefix.length || !key.subarray(0, this.secretsPrefix.length).equals(this.secretsPrefix)) return undefined;
    return key.subarray(this.secretsPrefix.length).toString();
  }
}

/** A record that does not decode is left out, as if absent (it cannot be shown either way). */
function decoded(id: string, version: number, value: Buffer): SecretRecord | undefined {
  try {
    return decodeMeta(id, version, value);
  } catch {
    return undefined;
  }
}

function isCompacted(e: unknown): boolean {
  return /compacted/i.test(String((e as Error)?.message ?? e));
}
