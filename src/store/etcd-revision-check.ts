/**
 * The one quorum read a consistent read from the etcd store's cache needs: a linearizable
 * transaction that reads the secrets' change marker (etcd-keys.ts), whose mod_revision is the
 * revision of the last committed change to any secret. Once the watch-fed cache has applied that
 * revision, it reflects every write acknowledged before the read began (the Kubernetes API
 * server's "consistent reads from cache").
 *
 * Concurrent reads share a round trip: a read joins the check that has not been sent yet, and
 * one that arrives while a check is in flight waits for the next one, because the answer of a
 * check sent before the read began could miss a write acknowledged just before it. A read may
 * ask for one more key in the same transaction (getSecret's sealed value, which the cache does
 * not hold); a check carries at most MAX_TXN_OPS keys per transaction and sends more
 * transactions side by side when more are asked for.
 */
import type { IRequestOp, ITxnResponse } from 'etcd3';

/**
 * Turns of the event loop a check may wait, at most, for more reads to join it while they keep
 * arriving. Each turn only polls for I/O already there, so a lone read waits a few µs.
 */
const MAX_GATHER_TURNS = 4;

/** etcd's default limit of operations in one transaction (--max-txn-ops). */
export const MAX_TXN_OPS = 128;

export interface Checked {
  /** The marker's mod_revision (0 if no secret was ever written). */
  revision: number;
  /** The value of the extra key asked for, if it exists. */
  value?: Buffer;
}

interface Waiter {
  key: Buffer | undefined;
  resolve(c: Checked): void;
  reject(e: unknown): void;
}

export class RevisionCheck {
  private pending: Waiter[] = [];
  /** A check is in flight, or gathering the reads that will share it. */
  private busy = false;
  private sent = 0;

  private readonly marker: Buffer;
  private readonly readOnlyTxn: (ops: IRequestOp[]) => Promise<ITxnResponse>;
  /** `readOnlyTxn` runs a read-only, linearizable transaction of the given ranges. */
  constructor(marker: Buffer, readOnlyTxn: (ops: IRequestOp[]) => Promise<ITxnResponse>) {
    this.marker = marker;
    this.readOnlyTxn = readOnlyTxn;
  }

  /** The marker's revision as of a linearizable read sent after this call, and `key`'s value read with it. */
  check(key?: Buffer): Promise<Checked> {
    return new Promise<Checked>((resolve, reject) => {
      this.pending.push({ key, resolve, reject });
      if (!this.busy) this.gather();
    });
  }

  /** How many checks have been sent (each one round trip to etcd). */
  get checks(): number {
    return this.sent;
  }

  /**
   * Sends the next check once a turn of the event loop brings no new read (or after
   * MAX_GATHER_TURNS turns): reads that arrive together share one round trip, and etcd and this
   * daemon pay for fewer checks, each costing both far more than a read from the cache.
   */
  private gather(): void {
    this.busy = true;
    let turns = 0;
    let seen = this.pending.length;
    const turn = () => {
      if (this.pending.length > seen && ++turns < MAX_GATHER_TURNS) {
        seen = this.pending.length;
        setImmediate(turn);
      } else this.flush();
    };
    setImmediate(turn);
  }

  private flush(): void {
    const batch = this.pending;
    this.pending = [];
    this.sent++;
    const groups: Waiter[][] = [[]];
    let keys = 0;
    for (const w of batch) {
      if (w.key && keys === MAX_TXN_OPS - 1) {
        groups.push([]);
        keys = 0;
      }
      groups[groups.length - 1]!.push(w);
      if (w.key) keys++;
    }
    void Promise.allSettled(groups.map((g) => this.send(g))).then(() => {
      if (this.pending.length > 0) this.gather();
      else this.busy = false;
    });
  }

  private async send(group: Waiter[]): Promise<void> {
    const withKey = group.filter((w) => w.key);
    try {
      const res = await this.readOnlyTxn([range(this.marker), ...withKey.map((w) => range(w.key!))]);
      const marker = res.responses[0]?.response_range?.kvs[0];
      const revision = marker ? Number(marker.mod_revision) : 0;
      const values = new Map(withKey.map((w, i) => [w, res.responses[i + 1]?.response_range?.kvs[0]?.value]));
      for (const w of group) w.resolve({ revision, value: values.get(w) });
    } catch (e) {
      for (const w of group) w.reject(e);
    }
  }
}

const range = (key: Buffer): IRequestOp => ({ request_range: { key } });
