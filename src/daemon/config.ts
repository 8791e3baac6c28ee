/** Flags and defaults become one validated, frozen Config (shape: spec/config.json). */
import { join, resolve } from 'node:path';
import type { SchemaRegistry } from '../schemas.ts';
import { driverSettings, type ParsedFlags } from './flags.ts';
import { defaultDataRoot, defaultHost } from './paths.ts';

export interface Config {
  readonly hosts: readonly string[];
  readonly dataRoot: string;
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error' | 'fatal';
  readonly swarmInit: boolean;
  readonly drivers: readonly string[];
  readonly driverSettings: Readonly<Record<string, Readonly<Record<string, string>>>>;
  readonly delivery: boolean;
  /** `sqlite`, or `etcd://HOST:PORT[,HOST:PORT…][/PREFIX]`. */
  readonly store: string;
  /** PEM files for TLS to etcd (absolute paths); empty for plain gRPC. */
  readonly etcdTls: { readonly ca?: string; readonly cert?: string; readonly key?: string };
  /** The keyring file (absolute path). */
  readonly keyring: string;
  /** A `--kek-provider` module (path or package); undefined for the built-in key file. */
  readonly kekProvider?: string;
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
  '/dataRoot': '--data-root',
  '/store': '--store',
  '/keyring': '--keyring',
  '/kekProvider': '--kek-provider',
  '/etcdTls': '--etcd-cacert/--etcd-cert/--etcd-key',
};

export function buildConfig(flags: ParsedFlags, schemas: SchemaRegistry): Config {
  const dataRoot = resolve(flags['data-root'] ?? defaultDataRoot());
  const etcdTls: { ca?: string; cert?: string; key?: string } = {};
  if (flags['etcd-cacert']) etcdTls.ca = resolve(flags['etcd-cacert']);
  if (flags['etcd-cert']) etcdTls.cert = resolve(flags['etcd-cert']);
  if (flags['etcd-key']) etcdTls.key = resolve(flags['etcd-key']);
  const config = {
    hosts: flags.host?.length ? flags.host : [defaultHost()],
    dataRoot,
    logLevel: flags['log-level'] ?? 'info',
    swarmInit: !flags['no-swarm-init'],
    drivers: flags.driver ?? [],
    driverSettings: settingsOf(flags),
    delivery: flags.delivery === true,
    store: flags.store ?? 'sqlite',
    etcdTls,
    keyring: resolve(flags.keyring ?? join(dataRoot, 'keyring.json')),
    ...(flags['kek-provider'] ? { kekProvider: flags['kek-provider'] } : {}),
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
  if (Boolean(etcdTls.cert) !== Boolean(etcdTls.key)) problems.push('--etcd-cert and --etcd-key go together');
  if (problems.length > 0) throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  return Object.freeze({
    ...config,
    hosts: Object.freeze([...config.hosts]),
    drivers: Object.freeze([...config.drivers]),
    etcdTls: Object.freeze(etcdTls),
  }) as Config;
}
