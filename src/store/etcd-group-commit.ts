/**
 * Group commit for the etcd store's secret writes: the writes issued in one turn of the event
 * loop go to etcd as one transaction, each as a nested transaction with its own compares, so
 * each succeeds or fails exactly as it would alone, in one round trip and one raft entry. The
 * outer transaction puts the secrets' change marker once (etcd-keys.ts); the writes share its
 * revision, which is every changed secret's new version (as objects changed in one swarmkit raft
 * transaction share its index). Should etcd refuse a grouped transaction as a whole (invalid
 * request: nothing of it applied), each of its writes is sent again alone.
 *
 * etcd evaluates every nested compare against the state before the transaction, so writes that
 * touch a common secret or name never share one: such a write goes in a transaction of its own,
 * sent beside the others (etcd orders them). A transaction holds at most MAX_WRITES writes and
 * about MAX_BYTES of values, below etcd's limits on operations and request size.
 */
import type { ICompare, IRequestOp, ITxnResponse } from 'etcd3';
import { EtcdCallError, INVALID_ARGUMENT } from './etcd-kv.ts';

/** Writes per transaction: etcd refuses more than MAX_TXN_OPS (128) operations at any level. */
const MAX_WRITES = 64;
/** Value bytes per transaction, below etcd's default --max-request-bytes of 1.5 MiB. */
const MAX_BYTES = 1024 * 1024;

/** One write: its transaction without the change marker, and what it touches. */
export interface GroupedWrite {
  compare: ICompare[];
  success: IRequestOp[];
  failure: IRequestOp[];
  /** The secret IDs and lower-cased names it reads or changes: no two writes of a group share one. */
  touches: string[];
  /** Roughly how many bytes of values it sends. */
  bytes: number;
}

interface Queued extends GroupedWrite {
  resolve(r: ITxnResponse): void;
  reject(e: unknown): void;
}

export class GroupCommit {
  private queue: Queued[] = [];

  private readonly marker: IRequestOp;
  private readonly txn: (compare: ICompare[], success: IRequestOp[], failure: IRequestOp[]) => Promise<ITxnResponse>;
  /** `marker` is put by every transaction sent; `txn` sends one under the store's deadline. */
  constructor(marker: IRequestOp, txn: (compare: ICompare[], success: IRequestOp[], failure: IRequestOp[]) => Promise<ITxnResponse>) {
    this.marker = marker;
    this.txn = txn;
  }

  /**
   * Commits `w` with the other writes of this turn; resolves with its own outcome: `succeeded`,
   * the responses of its own operations, and the header of the transaction that carried it.
   */
  commit(w: GroupedWrite): Promise<ITxnResponse> {
    return new Promise((resolve, reject) => {
      if (this.queue.push({ ...w, resolve, reject }) === 1) setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    const queued = this.queue;
    this.queue = [];
    const groups: { writes: Queued[]; touched: Set<string>; bytes: number }[] = [];
    for (const w of queued) {
      const fits = groups.find((g) => g.writes.length < MAX_WRITES && g.bytes + w.bytes <= MAX_BYTES && !w.touches.some((t) => g.touched.has(t)));
      if (fits) {
        fits.writes.push(w);
        fits.bytes += w.bytes;
        for (const t of w.touches) fits.touched.add(t);
      } else {
        groups.push({ writes: [w], touched: new Set(w.touches), bytes: w.bytes });
      }
    }
    for (const g of groups) void this.send(g.writes);
  }

  private async send(writes: Queued[]): Promise<void> {
    try {
      if (writes.length === 1) {
        const w = writes[0]!;
        // Alone: a plain transaction, the marker put only when the write applies.
        w.resolve(await this.txn(w.compare, [...w.success, this.marker], w.failure));
        return;
      }
      const nested = writes.map((w): IRequestOp => ({ request_txn: { compare: w.compare, success: w.success, failure: w.failure } }));
      const res = await this.txn([], [...nested, this.marker], []);
      writes.forEach((w, i) => {
        const own = res.responses[i]?.response_txn;
        if (own) w.resolve({ header: res.header, succeeded: own.succeeded, responses: own.responses });
        else w.reject(new Error('etcd answered a grouped transaction without the nested response'));
      });
    } catch (e) {
      // Only a refusal is certain to have changed nothing; after a timeout the group may have committed.
      if (writes.length > 1 && refused(e)) for (const w of writes) void this.send([w]);
      else for (const w of writes) w.reject(e);
    }
  }
}

/** etcd refused the request itself (gRPC INVALID_ARGUMENT: too many operations, too large, duplicate keys). */
function refused(e: unknown): boolean {
  for (let x = e as { cause?: unknown } | undefined, depth = 0; x && depth < 3; x = x.cause as typeof x, depth++) {
    if (x instanceof EtcdCallError) return x.code === INVALID_ARGUMENT;
  }
  return false;
}
