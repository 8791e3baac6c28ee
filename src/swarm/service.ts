/**
 * This daemon's swarm membership, as the Engine API shows it. secretd is always a single
 * manager node: init makes it one, leave --force erases the swarm and every secret (as leaving
 * the last manager does in Docker), and the state is persisted in the store.
 */
import { createHash, randomBytes } from 'node:crypto';
import { AlreadyInSwarm, InvalidRequest, ManagerLeave, NotInSwarm, NotPartOfSwarm } from '../secrets/errors.ts';
import { rfc3339Nano } from '../secrets/clock.ts';
import { newId } from '../secrets/ids.ts';
import type { Store } from '../store/types.ts';
import type { SwarmRecord } from './types.ts';

export type Cluster = NonNullable<SwarmRecord['cluster']>;

export interface InitOptions {
  listenAddr?: string;
  advertiseAddr?: string;
  specName?: string;
  labels?: Record<string, string>;
  autoLockManagers?: boolean;
}

const DEFAULT_LISTEN = '0.0.0.0:2377';

export class SwarmService {
  private record: SwarmRecord = { state: 'inactive' };
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly store: Store) {}

  /**
   * Reads the persisted state; a store that never held one starts a swarm when `autoInit`. With
   * a shared store, follows what the other daemons do to the swarm from then on.
   */
  async load(autoInit: boolean): Promise<void> {
    this.store.watchSwarm?.((record) => (this.record = record));
    const saved = await this.store.readSwarm();
    if (saved) this.record = saved;
    else if (autoInit) {
      try {
        await this.init({ listenAddr: DEFAULT_LISTEN, advertiseAddr: '127.0.0.1' });
      } catch (e) {
        if (!(e instanceof AlreadyInSwarm)) throw e;
        this.record = (await this.store.readSwarm()) ?? this.record; // another daemon was first
      }
    }
  }

  get cluster(): Cluster | undefined {
    return this.record.state === 'active' ? this.record.cluster : undefined;
  }

  /** The Engine API's `Swarm` ping header. */
  get pingState(): string {
    return this.cluster ? 'active/manager' : 'inactive';
  }

  /** Every secrets endpoint needs a manager; dockerd answers 503 otherwise. */
  requireManager(): Cluster {
    const c = this.cluster;
    if (!c) throw new NotInSwarm();
    return c;
  }

  init(opts: InitOptions): Promise<string> {
    return this.serially(async () => {
      if (this.cluster) throw new AlreadyInSwarm();
      if (opts.specName && opts.specName !== 'default') throw new InvalidRequest('swarm spec must be named "default"');
      const now = rfc3339Nano();
      const listenAddr = opts.listenAddr || DEFAULT_LISTEN;
      const cluster: Cluster = {
        id: newId(),
        nodeId: newId(),
        version: 0,
        createdAt: now,
        updatedAt: now,
        listenAddr,
        advertiseAddr: advertiseFrom(opts.advertiseAddr, listenAddr),
        autoLockManagers: opts.autoLockManagers ?? false,
        labels: opts.labels ?? {},
        joinTokens: joinTokens(),
      };
      const record: SwarmRecord = { state: 'active', cluster };
      cluster.version = await (this.store.initSwarm ? this.store.initSwarm(record) : this.store.writeSwarm(record));
      this.record = record;
      return cluster.nodeId;
    });
  }

  leave(force: boolean): Promise<void> {
    return this.serially(async () => {
      if (!this.cluster) throw new NotPartOfSwarm();
      if (!force) throw new ManagerLeave();
      const left: SwarmRecord = { state: 'inactive' };
      await this.store.leaveSwarm(left);
      this.record = left;
    });
  }

  /** init and leave change shared state: one at a time. */
  private serially<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

/** "host:port" to advertise: the given address (port defaulting to the listen port), else loopback. */
function advertiseFrom(advertise: string | undefined, listen: string): string {
  const listenPort = listen.slice(listen.lastIndexOf(':') + 1) || '2377';
  if (!advertise) return `127.0.0.1:${listenPort}`;
  return /:\d+$/.test(advertise) ? advertise : `${advertise}:${listenPort}`;
}

/** SWMTKN-1-<digest of a root CA, base 36, 50 digits>-<random, base 36, 25 digits>, as swarmkit. */
function joinTokens(): { worker: string; manager: string } {
  const digest = BigInt(`0x${createHash('sha256').update(randomBytes(32)).digest('hex')}`).toString(36).padStart(50, '0');
  const secret = () => BigInt(`0x${randomBytes(16).toString('hex')}`).toString(36).padStart(25, '0').slice(0, 25);
  return { worker: `SWMTKN-1-${digest}-${secret()}`, manager: `SWMTKN-1-${digest}-${secret()}` };
}

