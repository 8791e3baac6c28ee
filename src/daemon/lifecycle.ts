/**
 * Start and stop, in order. Start: lock the data root (an OS lock, src/daemon/lock.ts), open the
 * audit log and the store and check the store holds what was acknowledged, check the keys open
 * what the store holds, load the swarm state, then listen. A full disk is one line. Stop: stop accepting, let in-flight requests finish, close the store,
 * remove the socket and the pid file.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { KeyService } from '../crypto/keys.ts';
import { loadKeyProvider } from '../crypto/load-provider.ts';
import { refuseMissingKeyring, verifyKeyring } from '../crypto/keyring-check.ts';
import type { AuditEvent } from '../audit/events.ts';
import { AuditLog } from '../audit/log.ts';
import type { KeyProvider } from '../crypto/types.ts';
import { DeliveryService } from '../delivery/deliver.ts';
import { ValueResolver, type DeliveryEvent } from '../delivery/resolve-value.ts';
import { TokenService } from '../delivery/tokens.ts';
import { BUILTIN_DRIVERS_DIR, builtinDriverSource, driverFiles, loadDriver } from '../drivers/load.ts';
import { DriverRegistry } from '../drivers/registry.ts';
import { createApp, type AppDeps, type FetchHandler } from '../http/app.ts';
import { listen, type Listener, type ListenOptions } from '../http/listen.ts';
import { serverTlsOptions } from '../http/tls.ts';
import type { SchemaRegistry } from '../schemas.ts';
import { rfc3339Nano } from '../core/clock.ts';
import { KeyRotation } from '../secrets/key-rotation.ts';
import { Recovery } from '../secrets/recovery.ts';
import { SecretsService } from '../secrets/service.ts';
import { SecretVersions, type Acted } from '../secrets/versions.ts';
import { DaemonConfigDefaults } from '../spec-types/config.ts';
import { startPlugin } from '../plugin/start.ts';
import type { PluginServer } from '../plugin/server.ts';
import { CHECKPOINT_SUFFIX, CheckpointFile, damageOf, witnessesOf } from '../store/acknowledged.ts';
import { openStore } from '../store/open.ts';
import { SqliteStore } from '../store/sqlite.ts';
import type { Store } from '../store/types.ts';
import { SwarmService } from '../swarm/service.ts';
import type { Config } from './config.ts';
import { checkExposure } from './exposure.ts';
import { lockDataRoot } from './lock.ts';
import { throttle } from './throttle.ts';
import { diskFullAtStart } from './disk-full.ts';

export interface RunningDaemon {
  addresses: string[];
  /** The addresses served over TLS. */
  tlsAddresses: string[];
  /** The Docker plugin socket (--plugin-listen) and the name dockerd knows it by. */
  plugin?: { name: string; socket: string };
  stop(): Promise<void>;
}

/** How long a stop waits for in-flight requests before it closes their connections. */
const DRAIN_MS = 10_000;

export interface Core {
  fetch: FetchHandler;
  store: Store;
  drivers: DriverRegistry;
  keys: KeyService;
  rotation: KeyRotation;
  /** The one path values are handed out on (consumer tokens, the Docker plugin). */
  resolver: ValueResolver;
  /** Listeners told after a rotate or rollback made another value current (the plugin's volumes). */
  valueChanged: Set<(secret: Acted) => void>;
  /** Stops the key rotation, closes the drivers, then the store and the key provider. */
  close(): Promise<void>;
}

export type CoreConfig = Pick<Config, 'dataRoot' | 'swarmInit'> &
  Partial<
    Pick<
      Config,
      | 'drivers'
      | 'driverSettings'
      | 'delivery'
      | 'store'
      | 'etcdTls'
      | 'keyring'
      | 'kekProvider'
      | 'ui'
      | 'audit'
      | 'auditLog'
      | 'acceptStoreLoss'
      | 'keepVersions'
      | 'recoveryWindowMs'
    >
  >;

/** Keyring, store, swarm state, drivers, domain and HTTP app over one data root (not yet listening). */
export async function openCore(config: CoreConfig, schemas: SchemaRegistry, log: Logger): Promise<Core> {
  const drivers = await loadDrivers(config.drivers ?? []);
  const keyringFile = config.keyring ?? join(config.dataRoot, 'keyring.json');
  let provider: KeyProvider | undefined;
  let store: Store;
  let audit: AuditLog | undefined;
  let loss: ReturnType<typeof damageOf>;
  // The store must hold what was acknowledged (src/store/acknowledged.ts): SQLite only.
  const sqliteFile = !config.store || config.store === 'sqlite' ? join(config.dataRoot, 'secretd.db') : undefined;
  try {
    if (config.kekProvider) provider = await loadKeyProvider(config.kekProvider, config.driverSettings ?? {});
    if (config.audit) audit = await AuditLog.prepare(config.auditLog ?? join(config.dataRoot, 'audit.log'), (message) => log.error(message));
    const witnesses = sqliteFile ? witnessesOf(sqliteFile, audit) : [];
    // Judged before the store is opened for writing: a deleted database is not replaced by an
    // empty one, and a damaged one is left exactly as it was found (no WAL recovery).
    if (sqliteFile && witnesses.length > 0) {
      loss = damageOf(sqliteFile, existsSync(sqliteFile) ? (SqliteStore.peekCheckpoint(sqliteFile) ?? 'unknown') : undefined, witnesses);
      if (loss && !config.acceptStoreLoss) throw loss.refusal;
    }
    store = await openStore(config);
    const found = store.checkpoint?.();
    if (sqliteFile && found) loss ??= damageOf(sqliteFile, found, witnesses);
    if (loss && !config.acceptStoreLoss) {
      await store.close();
      throw loss.refusal;
    }
    try {
      await audit?.begin(store.journal);
    } catch (e) {
      await store.close();
      throw e;
    }
  } catch (e) {
    await audit?.close();
    await provider?.close?.();
    await drivers.close(() => {});
    throw e;
  }
  let keys: KeyService | undefined;
  let rotation: KeyRotation | undefined;
  let checkpointFile: CheckpointFile | undefined;
  let recovery: Recovery | undefined;
  const close = async () => {
    await recovery?.stop();
    await rotation?.stop();
    await drivers.close((name, e) => log.warn({ driver: name, err: (e as Error)?.name }, 'driver failed to close'));
    await audit?.close(); // before the store: its last lines are copied from the store's journal
    await store.close();
    checkpointFile?.close();
    await (keys ? keys.close() : provider?.close?.());
  };
  try {
    // The keys must be the ones that sealed the store's values: never a new keyring in place of
    // a lost one, never a start with keys that open nothing (src/crypto/keyring-check.ts).
    const checkCtx = { keyringFile, storeName: storeName(config) };
    await refuseMissingKeyring(store, !provider, checkCtx);
    keys = new KeyService({ file: keyringFile, provider, shared: store.shared });
    if (!keys.locked) await verifyKeyring(keys, store, checkCtx);
    const unlocked = keys;
    keys.onUnlock(() => {
      verifyKeyring(unlocked, store, checkCtx).catch((e) => log.error({ err: (e as Error).message }, 'the unlocked keyring does not match the store'));
    });
    // Only now, with the keys accepted, do the witnesses follow the store.
    if (sqliteFile && store.checkpoint && store.onCommit) {
      const cp = store.checkpoint.bind(store);
      checkpointFile = CheckpointFile.open(sqliteFile + CHECKPOINT_SUFFIX);
      const file = checkpointFile;
      file.write(cp());
      store.onCommit((c) => {
        try {
          file.write(c);
        } catch {
          // An older checkpoint is still a true one: it only detects less.
        }
      });
      audit?.stampFrom(cp);
    } else audit?.stampFrom(() => undefined);
    if (loss) {
      log.warn({ store: sqliteFile }, `--accept-store-loss: starting with what the store holds. ${loss.refusal.message}`);
      await audit?.record({ who: { transport: 'daemon' }, action: 'store.loss_accepted', result: 'ok', acknowledged: loss.acknowledged });
    }
    // The key provider's settings are its own (it was initialised with them above).
    const driverSettings = Object.fromEntries(Object.entries({ ...config.driverSettings }).filter(([name]) => name !== provider?.name));
    await drivers.init(driverSettings, config.dataRoot, (name) => log.child({ driver: name }));
    const swarm = new SwarmService(store, keys);
    await swarm.load(config.swarmInit);
    rotation = new KeyRotation(store, keys, log);
    // Every start (or unlock) walks the store once: it finishes a rotation a kill interrupted,
    // and migrates values sealed before envelope encryption.
    const walk = rotation;
    keys.onUnlock(() => walk.start());
    if (!keys.locked) rotation.start();
    else log.warn('the swarm is locked (autolock): run `docker swarm unlock` with the unlock key');
    const secrets = new SecretsService({ store, swarm, keys, drivers, schemas, log, recoveryWindowMs: config.recoveryWindowMs });
    const valueChanged = new Set<(secret: Acted) => void>();
    const versions = new SecretVersions({
      store,
      swarm,
      keys,
      keep: config.keepVersions ?? DaemonConfigDefaults.keepVersions,
      keptValueMoved: () => walk.keptValueMoved(),
      onValueChanged: (s) => {
        for (const listener of valueChanged) listener(s);
      },
    });
    const purged = async (s: Acted) => {
      await audit?.record({ who: { transport: 'daemon' }, action: 'secret.purge', secret: s, result: 'ok' });
    };
    recovery = new Recovery({ store, swarm, drivers, log, purged, keptValueMoved: () => walk.keptValueMoved() });
    if (config.recoveryWindowMs) recovery.start(purgeEveryMs(config.recoveryWindowMs));
    const system = { dataRoot: config.dataRoot, storeKind: store.kind, storeUrl: config.store ?? 'sqlite', startedAt: rfc3339Nano() };
    const recordDelivery = async (event: DeliveryEvent) => {
      log.info(event, 'delivery');
      await audit?.record(deliveryRecord(event));
    };
    const resolver = new ValueResolver({ store, swarm, keys, drivers, audit: recordDelivery });
    let delivery: AppDeps['delivery'];
    if (config.delivery) {
      const tokens = new TokenService(store);
      delivery = { tokens, deliver: new DeliveryService({ tokens, resolver }) };
    }
    const ui = config.ui ? { secretDrivers: drivers.names('secret'), templatingDrivers: drivers.names('templating') } : undefined;
    const fetch = createApp({ secrets, swarm, schemas, log, system, delivery, ui, audit, keys: { keys, rotation }, versions: { versions, recovery } });
    return { fetch, store, drivers, keys, rotation, resolver, valueChanged, close };
  } catch (e) {
    await close();
    throw e;
  }
}

/** Expired removed secrets are purged within a tenth of the window, at most a minute and at least a second late. */
function purgeEveryMs(windowMs: number): number {
  return Math.min(60_000, Math.max(1000, Math.floor(windowMs / 10)));
}

/** The store as the operator names it: the SQLite file, or the --store URL. */
function storeName(config: CoreConfig): string {
  return !config.store || config.store === 'sqlite' ? join(config.dataRoot, 'secretd.db') : config.store;
}

/** A delivery as an audit record: the token and connection as `who`, the secret resolved or as asked. */
function deliveryRecord(e: DeliveryEvent): AuditEvent {
  const record: AuditEvent = {
    who: { ...(e.peer ?? { transport: 'in-process' }), ...(e.token ? { token: e.token } : {}) },
    action: 'secret.deliver',
    secret: e.secretId ? { id: e.secretId, name: e.secret } : { ref: e.secret },
    result: e.result === 'delivered' ? 'ok' : e.result,
  };
  if (e.task) record.task = e.task;
  if (e.service) record.service = e.service;
  if (e.node) record.node = e.node;
  if (e.volume) record.volume = e.volume;
  if (e.version !== undefined) record.version = e.version;
  return record;
}

/** Every module in drivers/, then each --driver, in order; any failure or duplicate name stops start-up. */
async function loadDrivers(extra: readonly string[]): Promise<DriverRegistry> {
  const registry = new DriverRegistry();
  for (const file of driverFiles(BUILTIN_DRIVERS_DIR)) {
    const { driver } = await loadDriver(file);
    registry.register(driver, builtinDriverSource(file));
  }
  for (const specifier of extra) {
    const { driver, source } = await loadDriver(specifier);
    registry.register(driver, source);
  }
  return registry;
}

/**
 * Before anything is opened: every -H must be allowed (src/daemon/exposure.ts) and the TLS files
 * readable. An address let through only by the loud flag is warned about, loudly.
 */
function listenOptions(config: Config, log: Logger): ListenOptions {
  const protection = !config.tls ? 'none' : config.tls.verify ? 'tlsverify' : 'tls';
  for (const host of config.hosts) {
    if (checkExposure(host, protection, config.insecureListen) === 'insecure') {
      log.warn(
        { host, tls: protection },
        `INSECURE: ${host} lets in any client that reaches it, without a certificate: whoever can connect can read and change every secret. Use --tlsverify.`,
      );
    }
  }
  // A peer can cause these at will: rate-limited, with the number left out (`dropped`).
  const shed = throttle<{ what: string; listener: string; remote: string | undefined }>((d, dropped) =>
    log.warn(
      { ...d, ...(dropped ? { dropped } : {}) },
      d.what === 'evicted' ? 'connection cap reached: closed the oldest idle connection' : 'connection cap reached: refused a connection',
    ),
  );
  const common: ListenOptions = {
    requestTimeoutMs: config.requestTimeoutMs,
    maxConnections: config.maxConnections,
    onShed: (what, listener, remote) => shed({ what, listener, remote }),
  };
  warnIfTooFewDescriptors(config, log);
  if (!config.tls) return common;
  if (!config.hosts.some((h) => h.startsWith('tcp://'))) log.warn('--tls and --tlsverify apply to tcp:// listeners only, and there is none');
  const refused = throttle<{ remote: string | undefined; err: string }>((d, dropped) =>
    log.warn({ ...d, ...(dropped ? { dropped } : {}) }, 'TLS handshake refused'),
  );
  return {
    ...common,
    tls: serverTlsOptions(config.tls),
    onTlsError: (err, remote) => refused({ remote, err: (err as NodeJS.ErrnoException).code ?? err.message }),
  };
}

/**
 * The caps keep the peers of one listener from using up the descriptors the other listeners,
 * the store and the audit log need only if the process may open more than all listeners
 * together hold (Linux: the soft "Max open files" of /proc/self/limits, which Node raises to the
 * hard limit at start).
 */
function warnIfTooFewDescriptors(config: Config, log: Logger): void {
  const listeners = config.hosts.length;
  let limit: number;
  try {
    limit = Number(/^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1]);
  } catch {
    return; // not Linux: nothing to compare with
  }
  const needed = listeners * config.maxConnections + 256;
  if (Number.isFinite(limit) && limit < needed) {
    log.warn(
      { limit, needed },
      `the open-file limit (${limit}) is below ${listeners} listener(s) × --max-connections ${config.maxConnections} + 256: ` +
        'lower --max-connections or raise the limit (ulimit -n), or the clients of one listener can starve the others',
    );
  }
}

export async function startDaemon(config: Config, schemas: SchemaRegistry, log: Logger): Promise<RunningDaemon> {
  const options = listenOptions(config, log);
  process.umask(0o077); // every file the daemon makes is its own (the socket is opened to 0660 after)
  let unlock: () => void;
  try {
    mkdirSync(config.dataRoot, { recursive: true, mode: 0o700 });
    chmodSync(config.dataRoot, 0o700);
    unlock = lockDataRoot(config.dataRoot, (message) => log.error(message));
  } catch (e) {
    throw diskFullAtStart(e, `--data-root ${config.dataRoot}`);
  }
  let core: Core | undefined;
  const listeners: Listener[] = [];
  let plugin: PluginServer | undefined;
  try {
    core = await openCore(config, schemas, log);
    // Before the API listeners: once the daemon answers, its plugin socket is there too.
    if (config.pluginListen) {
      plugin = await startPlugin({ socket: config.pluginListen, allow: config.pluginAllow, dataRoot: config.dataRoot }, core, schemas, log);
    }
    for (const host of config.hosts) listeners.push(await listen(host, core.fetch, options));
  } catch (e) {
    for (const l of listeners) {
      l.server.close();
      l.cleanup();
    }
    await plugin?.stop();
    await core?.close().catch(() => {});
    unlock();
    throw diskFullAtStart(e, `--data-root ${config.dataRoot}`);
  }

  const running = core;
  let stopping: Promise<void> | undefined;
  return {
    addresses: listeners.map((l) => l.address),
    ...(plugin ? { plugin: { name: plugin.name, socket: plugin.socket } } : {}),
    tlsAddresses: listeners.filter((l) => l.tls).map((l) => l.address),
    stop: () =>
      (stopping ??= (async () => {
        await Promise.all([...listeners.map((l) => drain(l)), plugin?.stop()]);
        await running.close();
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
