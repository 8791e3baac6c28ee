/** Flags and defaults become one validated, frozen Config (shape: spec/config.json). */
import { join, resolve } from 'node:path';
import type { SchemaRegistry } from '../schemas.ts';
import { driverSettings, INSECURE_LISTEN_FLAG, type ParsedFlags } from './flags.ts';
import { defaultCertDir, defaultDataRoot, defaultHost } from './paths.ts';
import { uiProblems } from './ui-listeners.ts';

/** TLS for tcp:// listeners (absolute paths; `ca` is read only when `verify` is on). */
export interface TlsConfig {
  /** Require a client certificate signed by `ca` (--tlsverify). */
  readonly verify: boolean;
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

export interface Config {
  readonly hosts: readonly string[];
  readonly dataRoot: string;
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error' | 'fatal';
  /** A request, body included, must arrive within this many ms (slow or endless bodies are cut off). */
  readonly requestTimeoutMs: number;
  readonly swarmInit: boolean;
  readonly drivers: readonly string[];
  readonly driverSettings: Readonly<Record<string, Readonly<Record<string, string>>>>;
  readonly delivery: boolean;
  /** Serve the web console at /ui on the TCP listeners. */
  readonly ui: boolean;
  /** `sqlite`, or `etcd://HOST:PORT[,HOST:PORT…][/PREFIX]`. */
  readonly store: string;
  /** PEM files for TLS to etcd (absolute paths); empty for plain gRPC. */
  readonly etcdTls: { readonly ca?: string; readonly cert?: string; readonly key?: string };
  /** The keyring file (absolute path). */
  readonly keyring: string;
  /** Set by --tls or --tlsverify; absent for plain TCP. */
  readonly tls?: TlsConfig;
  /** The loudly named flag: tcp:// off loopback without --tlsverify is allowed (with a warning). */
  readonly insecureListen: boolean;
  /** Keep an audit log (default on; --no-audit turns it off). */
  readonly audit: boolean;
  /** The audit log file (absolute path). */
  readonly auditLog: string;
  /** A `--kek-provider` module (path or package); undefined for the built-in key file. */
  readonly kekProvider?: string;
  /** Start even though the store holds less than was acknowledged (src/store/acknowledged.ts). */
  readonly acceptStoreLoss?: boolean;
}

export class ConfigError extends Error {}

function settingsOf(flags: ParsedFlags): Record<string, Record<string, string>> {
  let settings;
  try {
    settings = driverSettings(flags['driver-opt']);
  } catch (e) {
    throw new ConfigError((e as Error).message);
  }
  if (flags['plugin-dir']?.length) {
    const dirs = flags['plugin-dir'].map((d) => resolve(d));
    const own = settings['docker-plugins']?.dirs;
    (settings['docker-plugins'] ??= Object.create(null) as Record<string, string>).dirs = [...dirs, ...(own ? [own] : [])].join(':');
  }
  return settings;
}

/** How a schema path is called on the command line, for error messages. */
const FLAG_OF: Record<string, string> = {
  '/logLevel': '--log-level',
  '/requestTimeoutMs': '--request-timeout (seconds, 1 to 3600)',
  '/dataRoot': '--data-root',
  '/store': '--store',
  '/keyring': '--keyring',
  '/auditLog': '--audit-log',
  '/kekProvider': '--kek-provider',
  '/etcdTls': '--etcd-cacert/--etcd-cert/--etcd-key',
  '/tls': '--tlscacert/--tlscert/--tlskey',
};

/** dockerd's rule: --tlsverify implies --tls; the files default to ca.pem, cert.pem, key.pem in one folder. */
function tlsOf(flags: ParsedFlags): TlsConfig | undefined {
  if (!flags.tls && !flags.tlsverify) return undefined;
  const dir = defaultCertDir();
  return {
    verify: flags.tlsverify === true,
    ca: resolve(flags.tlscacert ?? join(dir, 'ca.pem')),
    cert: resolve(flags.tlscert ?? join(dir, 'cert.pem')),
    key: resolve(flags.tlskey ?? join(dir, 'key.pem')),
  };
}

export function buildConfig(flags: ParsedFlags, schemas: SchemaRegistry): Config {
  const dataRoot = resolve(flags['data-root'] ?? defaultDataRoot());
  const etcdTls: { ca?: string; cert?: string; key?: string } = {};
  if (flags['etcd-cacert']) etcdTls.ca = resolve(flags['etcd-cacert']);
  if (flags['etcd-cert']) etcdTls.cert = resolve(flags['etcd-cert']);
  if (flags['etcd-key']) etcdTls.key = resolve(flags['etcd-key']);
  const tls = tlsOf(flags);
  const config = {
    hosts: flags.host?.length ? flags.host : [defaultHost()],
    dataRoot,
    logLevel: flags['log-level'] ?? 'info',
    requestTimeoutMs: flags['request-timeout'] === undefined ? 60_000 : Math.round(Number(flags['request-timeout']) * 1000),
    swarmInit: !flags['no-swarm-init'],
    drivers: flags.driver ?? [],
    driverSettings: settingsOf(flags),
    delivery: flags.delivery === true,
    ui: flags.ui === true,
    store: flags.store ?? 'sqlite',
    etcdTls,
    keyring: resolve(flags.keyring ?? join(dataRoot, 'keyring.json')),
    ...(tls ? { tls } : {}),
    insecureListen: flags[INSECURE_LISTEN_FLAG] === true,
    audit: !flags['no-audit'],
    auditLog: resolve(flags['audit-log'] ?? join(dataRoot, 'audit.log')),
    ...(flags['kek-provider'] ? { kekProvider: flags['kek-provider'] } : {}),
    ...(flags['accept-store-loss'] ? { acceptStoreLoss: true } : {}),
  };
  const hosts = config.hosts;
  const validate = schemas.validator('config.json');
  const problems = validate(config)
    ? []
    : (validate.errors ?? []).map((e) => {
        const at = e.instancePath.replace(/^\/hosts\/\d+$/, '--host').replace(/^\/[a-zA-Z]+$/, (p) => FLAG_OF[p] ?? p);
        const value = e.instancePath.startsWith('/hosts/') ? ` (${hosts[Number(e.instancePath.split('/')[2])]})` : '';
        const hint =
          e.keyword !== 'pattern' ? '' : at === '--store' ? ': use sqlite or etcd://HOST:PORT[,HOST:PORT...][/PREFIX]' : ': use unix:///path or tcp://HOST:PORT';
        return `${at}${value}: ${e.message}${hint}`;
      });
  if (config.store === 'sqlite' && Object.keys(etcdTls).length > 0) problems.push('--etcd-cacert/--etcd-cert/--etcd-key need --store etcd://…');
  if (flags['no-audit'] && flags['audit-log'] !== undefined) problems.push('--audit-log and --no-audit contradict each other');
  if (Boolean(etcdTls.cert) !== Boolean(etcdTls.key)) problems.push('--etcd-cert and --etcd-key go together');
  // dockerd ignores these without --tls; a file named for nothing is more likely a forgotten --tlsverify.
  if (!tls && (flags.tlscacert || flags.tlscert || flags.tlskey)) problems.push('--tlscacert/--tlscert/--tlskey need --tls or --tlsverify');
  if (tls && !tls.verify && flags.tlscacert) problems.push('--tlscacert is used only with --tlsverify (with --tls alone no client certificate is asked for)');
  problems.push(...uiProblems(config.ui, hosts, tls?.verify === true));
  if (problems.length > 0) throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  return Object.freeze({
    ...config,
    hosts: Object.freeze([...config.hosts]),
    drivers: Object.freeze([...config.drivers]),
    etcdTls: Object.freeze(etcdTls),
    ...(tls ? { tls: Object.freeze(tls) } : {}),
  }) as Config;
}
