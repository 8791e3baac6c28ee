/**
 * This daemon's swarm membership, as the Engine API shows it. secretd is always a single
 * manager node: init makes it one, leave --force erases the swarm and every secret (as leaving
 * the last manager does in Docker), and the state is persisted in the store. Autolock is
 * swarmkit's: the key file is kept encrypted under an unlock key, and after a restart the node
 * is locked until `unlock` gets that key (src/crypto/keys.ts).
 */
import { createHash, randomBytes } from 'node:crypto';
import { MalformedUnlockKey, WrongUnlockKey } from '../crypto/autolock.ts';
import type { KeyService } from '../crypto/keys.ts';
import {
  AlreadyInSwarm,
  InvalidRequest,
  InvalidUnlockKey,
  LockedLeave,
  ManagerLeave,
  NotInSwarm,
  NotLocked,
  NotPartOfSwarm,
  OutOfSequence,
  SwarmLocked,
} from '../core/errors.ts';
import { rfc3339Nano } from '../core/clock.ts';
import { newId } from '../core/ids.ts';
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

/** What POST /swarm/update changes. */
export interface UpdateOptions {
  version: number;
  specName?: string;
  labels?: Record<string, string>;
  autoLockManagers?: boolean;
  rotateWorkerToken?: boolean;
  rotateManagerToken?: boolean;
  rotateManagerUnlockKey?: boolean;
}

const DEFAULT_LISTEN = '0.0.0.0:2377';

export class SwarmService {
  private record: SwarmRecord = { state: 'inactive' };
  private queue: Promise<unknown> = Promise.resolve();

  private readonly store: Store;
  private readonly keys: KeyService;
  constructor(store: Store, keys: KeyService) {
    this.store = store;
    this.keys = keys;
  }

  /**
   * Reads the persisted state; a store that never held one starts a swarm when `autoInit`. With
   * a shared store, follows what the other daemons do to the swarm from then on.
   */
  async load(autoInit: boolean): Promise<void> {
    await this.store.watchSwarm?.((record) => (this.record = record));
    const saved = await this.store.readSwarm();
    // A leave that stopped between erasing the secrets and resetting the keys: nothing to unlock.
    if (saved?.state !== 'active' && this.keys.autolock) this.keys.resetAfterLeave();
    if (saved) this.record = saved;
    else if (autoInit) {
      try {
        await this.init({ listenAddr: DEFAULT_LISTEN, advertiseAddr: '127.0.0.1' });
      } catch (e) {
        if (!(e instanceof AlreadyInSwarm)) throw e;
        this.record = (await this.store.readSwarm()) ?? this.record; // another daemon was first
      }
    }
    this.reconcileAutolock();
  }

  get cluster(): Cluster | undefined {
    return this.record.state === 'active' ? this.record.cluster : undefined;
  }

  /** In a swarm, with autolock on, after a restart, before `unlock`. */
  get locked(): boolean {
    return this.cluster !== undefined && this.keys.locked;
  }

  /** The Engine API's `Swarm` ping header. */
  get pingState(): string {
    return this.locked ? 'locked' : this.cluster ? 'active/manager' : 'inactive';
  }

  /** Every secrets endpoint needs an unlocked manager; dockerd answers 503 otherwise. */
  requireManager(): Cluster {
    const c = this.cluster;
    if (!c) throw new NotInSwarm();
    if (this.keys.locked) throw new SwarmLocked();
    return c;
  }

  /** GET /swarm/unlockkey: `SWMKEY-1-…`, or "" while autolock is off. */
  unlockKey(): string {
    this.requireManager();
    return this.keys.unlockKeyText();
  }

  /** POST /swarm/unlock, in dockerd's order: not a manager, not locked, malformed key, wrong key. */
  unlock(unlockKey: string): void {
    if (!this.cluster) throw new NotInSwarm();
    if (!this.keys.locked) throw new NotLocked();
    try {
      this.keys.unlock(unlockKey);
    } catch (e) {
      if (e instanceof MalformedUnlockKey) throw new InvalidRequest('invalid key string');
      if (e instanceof WrongUnlockKey) throw new InvalidUnlockKey();
      throw e;
    }
    this.reconcileAutolock();
  }

  /**
   * POST /swarm/update: labels, autolock, and the rotations asked for. The swarm record is
   * written first and the key file second, so a crash in between never leaves the key file
   * locked under a key nobody was shown; the shown autolock state is the key file's.
   */
  update(opts: UpdateOptions): Promise<void> {
    return this.serially(async () => {
      const current = this.requireManager();
      if (opts.specName && opts.specName !== 'default') throw new InvalidRequest('swarm spec must be named "default"');
      if (opts.version !== current.version) throw new OutOfSequence();
      const autolock = opts.autoLockManagers ?? false;
      const refusal = autolock && !this.keys.autolock ? this.keys.autolockRefusal() : undefined;
      if (refusal) throw new InvalidRequest(refusal);
      const tokens = joinTokens(current.joinTokens.worker.split('-')[2]);
      const cluster: Cluster = {
        ...current,
        labels: opts.labels ?? {},
        autoLockManagers: autolock,
        updatedAt: rfc3339Nano(),
        joinTokens: {
          worker: opts.rotateWorkerToken ? tokens.worker : current.joinTokens.worker,
          manager: opts.rotateManagerToken ? tokens.manager : current.joinTokens.manager,
        },
      };
      const record: SwarmRecord = { state: 'active', cluster };
      cluster.version = await this.store.writeSwarm(record);
      this.record = record;
      const wasOn = this.keys.autolock;
      this.keys.setAutolock(autolock);
      if (opts.rotateManagerUnlockKey && wasOn && autolock) this.keys.rotateUnlockKey();
      this.reconcileAutolock();
    });
  }

  init(opts: InitOptions): Promise<string> {
    return this.serially(async () => {
      if (this.cluster) throw new AlreadyInSwarm();
      if (opts.specName && opts.specName !== 'default') throw new InvalidRequest('swarm spec must be named "default"');
      const refusal = opts.autoLockManagers ? this.keys.autolockRefusal() : undefined;
      if (refusal) throw new InvalidRequest(refusal);
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
      this.keys.setAutolock(cluster.autoLockManagers);
      this.reconcileAutolock();
      return cluster.nodeId;
    });
  }

  leave(force: boolean): Promise<void> {
    return this.serially(async () => {
      if (!this.cluster) throw new NotPartOfSwarm();
      if (!force) throw this.keys.locked ? new LockedLeave() : new ManagerLeave();
      const left: SwarmRecord = { state: 'inactive' };
      await this.store.leaveSwarm(left);
      this.record = left;
      this.keys.resetAfterLeave();
    });
  }

  /** The key file is the truth about autolock (see update). */
  private reconcileAutolock(): void {
    if (this.record.cluster) this.record.cluster.autoLockManagers = this.keys.autolock;
  }

  /** init, update and leave change shared state: one at a time. */
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

/** SWMTKN-1-<digest of a root CA, base 36, 50 digits>-<random, base 36, 25 digits>, as swarmkit; rotation keeps the digest. */
function joinTokens(
  digest = BigInt(`0x${createHash('sha256').update(randomBytes(32)).digest('hex')}`)
    .toString(36)
    .padStart(50, '0'),
): {
  worker: string;
  manager: string;
} {
  const secret = () =>
    BigInt(`0x${randomBytes(16).toString('hex')}`)
      .toString(36)
      .padStart(25, '0')
      .slice(0, 25);
  return { worker: `SWMTKN-1-${digest}-${secret()}`, manager: `SWMTKN-1-${digest}-${secret()}` };
}
