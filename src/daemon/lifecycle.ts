/**
 * Start and stop, in order. Start: lock the data root, open keyring and store, load the swarm
 * state, then listen. Stop: stop accepting, let in-flight requests finish, close the store,
 * remove the socket and the pid file.
 */
import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { Keyring } from '../crypto/keyring.ts';
import { DriverRegistry } from '../drivers/registry.ts';
import { createApp, type FetchHandler } from '../http/app.ts';
import { listen, type Listener } from '../http/listen.ts';
import type { SchemaRegistry } from '../schemas.ts';
import { rfc3339Nano } from '../secrets/clock.ts';
import { SecretsService } from '../secrets/service.ts';
import { SqliteStore } from '../store/sqlite.ts';
import type { Store } from '../store/types.ts';
import { SwarmService } from '../swarm/service.ts';
import type { Config } from './config.ts';
import { lockDataRoot } from './lock.ts';

export interface RunningDaemon {
  addresses: string[];
  stop(): Promise<void>;
}

/** How long a stop waits for in-flight requests before it closes their connections. */
const DRAIN_MS = 10_000;

export interface Core {
  fetch: FetchHandler;
  store: Store;
}

/** Keyring, store, swarm state, domain and HTTP app over one data root (not yet listening). */
export async function openCore(config: Pick<Config, 'dataRoot' | 'swarmInit'>, schemas: SchemaRegistry, log: Logger): Promise<Core> {
  const keyring = Keyring.openOrCreate(config.dataRoot);
  const store = new SqliteStore(join(config.dataRoot, 'secretd.db'));
  try {
    const swarm = new SwarmService(store);
    await swarm.load(config.swarmInit);
    const drivers = new DriverRegistry();
    const secrets = new SecretsService({ store, swarm, keyring, drivers, schemas });
    const system = { dataRoot: config.dataRoot, storeKind: store.kind, startedAt: rfc3339Nano() };
    return { fetch: createApp({ secrets, swarm, schemas, log, system }), store };
  } catch (e) {
    await store.close();
    throw e;
  }
}

export async function startDaemon(config: Config, schemas: SchemaRegistry, log: Logger): Promise<RunningDaemon> {
  process.umask(0o077); // every file the daemon makes is its own (the socket is opened to 0660 after)
  mkdirSync(config.dataRoot, { recursive: true, mode: 0o700 });
  chmodSync(config.dataRoot, 0o700);
  const unlock = lockDataRoot(config.dataRoot);
  let core: Core | undefined;
  const listeners: Listener[] = [];
  try {
    core = await openCore(config, schemas, log);
    for (const host of config.hosts) listeners.push(await listen(host, core.fetch));
  } catch (e) {
    for (const l of listeners) {
      l.server.close();
      l.cleanup();
    }
    await core?.store.close();
    unlock();
    throw e;
  }

  const openStore = core.store;
  let stopping: Promise<void> | undefined;
  return {
    addresses: listeners.map((l) => l.address),
    stop: () =>
      (stopping ??= (async () => {
        await Promise.all(listeners.map((l) => drain(l)));
        await openStore.close();
        unlock();
        log.info('stopped');
      })()),
  };
}

/** server.close() waits for open connections; idle keep-alive ones are closed as they go idle. */
async function drain(l: Listener): Promise<void> {
  const closed = new Promise<void>((resolve) => l.server.close(() => resolve()));
  const idle = setInterval(() => l.server.closeIdleConnections(), 50);
  const force = setTimeout(() => l.server.closeAllConnections(), DRAIN_MS);
  l.server.closeIdleConnections();
  await closed;
  clearInterval(idle);
  clearTimeout(force);
  l.cleanup();
}
