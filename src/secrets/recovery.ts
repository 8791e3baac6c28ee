/**
 * The recovery window (--recovery-window, off by default: Docker has none). With it, `docker
 * secret rm` hides the secret instead of deleting it: gone from the Engine API and its name free
 * at once, its values still sealed until the window ends. `restore` brings it back unless its
 * name was taken meanwhile; `purge` ends it at once; a timer purges what is due.
 */
import type { DriverRegistry } from '../drivers/registry.ts';
import type { DriverLog } from '../drivers/types.ts';
import type { RemovedSecret, Store } from '../store/types.ts';
import type { SwarmService } from '../swarm/service.ts';
import { rfc3339Nano } from '../core/clock.ts';
import { isSecretdError, SecretNotFound } from '../core/errors.ts';
import type { Acted } from './versions.ts';

/** How many due secrets one purge pass takes; the next pass takes more. */
const PURGE_BATCH = 256;

export interface RecoveryDeps {
  store: Store;
  swarm: SwarmService;
  drivers: DriverRegistry;
  log: DriverLog;
  /** Told when a kept value becomes current again (KeyRotation.keptValueMoved). */
  keptValueMoved?: () => void;
  /** Told of every purge the timer makes (the audit log records it as the daemon's). */
  purged?: (secret: Acted) => Promise<void>;
}

/** A removed secret as /_secretd/v1/removed-secrets shows it. */
export interface RemovedView {
  ID: string;
  Name: string;
  RemovedAt: string;
  PurgeAfter: string;
}

export class Recovery {
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> | undefined;

  private readonly deps: RecoveryDeps;
  constructor(deps: RecoveryDeps) {
    this.deps = deps;
  }

  async list(): Promise<RemovedView[]> {
    this.deps.swarm.requireManager();
    return (await this.deps.store.findRemoved(undefined)).map(view);
  }

  /** Brings back the most recently removed secret that `ref` names (its ID or its name). */
  async restore(ref: string, noteSecret: (s: Acted) => void = () => {}): Promise<Acted> {
    this.deps.swarm.requireManager();
    const removed = await this.find(ref);
    noteSecret(acted(removed));
    this.deps.keptValueMoved?.();
    await this.deps.store.restoreRemoved(removed.secret.id, rfc3339Nano());
    return acted(removed);
  }

  /** Ends the recovery window of what `ref` names at once. */
  async purge(ref: string, noteSecret: (s: Acted) => void = () => {}): Promise<Acted> {
    this.deps.swarm.requireManager();
    const removed = await this.find(ref);
    noteSecret(acted(removed));
    if (!(await this.deps.store.purgeRemoved(removed.secret.id))) throw new SecretNotFound(ref);
    await this.tellDriver(removed);
    return acted(removed);
  }

  /** Purges what is due every `everyMs` until stop(). */
  start(everyMs: number): void {
    this.timer = setInterval(() => {
      this.sweeping ??= this.sweep().then(
        () => (this.sweeping = undefined),
        () => (this.sweeping = undefined),
      );
    }, everyMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.sweeping;
  }

  /** One pass: every removed secret whose window has ended is purged and reported. */
  async sweep(): Promise<number> {
    let purged = 0;
    try {
      for (;;) {
        const due = await this.deps.store.expiredRemoved(new Date().toISOString(), PURGE_BATCH);
        for (const r of due) {
          if (!(await this.deps.store.purgeRemoved(r.secret.id))) continue; // purged by hand meanwhile
          purged++;
          await this.tellDriver(r);
          await this.deps.purged?.(acted(r));
        }
        if (due.length < PURGE_BATCH) return purged;
      }
    } catch (e) {
      this.deps.log.warn({ err: isSecretdError(e) ? e.code : (e as Error)?.name }, 'purging removed secrets failed; the next pass tries again');
      return purged;
    }
  }

  private async find(ref: string): Promise<RemovedSecret> {
    const [newest] = ref === '' ? [] : await this.deps.store.findRemoved(ref);
    if (!newest) throw new SecretNotFound(ref);
    return newest;
  }

  /** A writable driver hears of the delete once it is final. */
  private async tellDriver(r: RemovedSecret): Promise<void> {
    const name = r.secret.driver?.Name;
    if (!name) return;
    try {
      const driver = await this.deps.drivers.secretDriver(name);
      await driver?.removed?.({ id: r.secret.id, name: r.secret.name, labels: { ...r.secret.labels }, options: { ...r.secret.driver?.Options } });
    } catch (e) {
      this.deps.log.warn(
        { driver: name, secret: r.secret.id, err: isSecretdError(e) ? e.code : (e as Error)?.name },
        'driver failed to handle a purged secret',
      );
    }
  }
}

function acted(r: RemovedSecret): Acted {
  return { id: r.secret.id, name: r.secret.name };
}

function view(r: RemovedSecret): RemovedView {
  return { ID: r.secret.id, Name: r.secret.name, RemovedAt: r.removedAt, PurgeAfter: r.purgeAfter };
}
