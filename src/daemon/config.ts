/** Flags and defaults become one validated, frozen Config (shape: spec/config.json). */
import { join, resolve } from 'node:path';
import type { ErrorObject } from 'ajv';
import type { SchemaRegistry } from '../schemas.ts';
import { DaemonConfigDefaults as D, type DaemonConfig } from '../spec-types/config.ts';
import { StartupError } from '../core/errors.ts';
import { driverSettings, INSECURE_LISTEN_FLAG, type ParsedFlags } from './flags.ts';
import { defaultCertDir, defaultDataRoot, defaultHost, IN_CERT_DIR, IN_DATA_ROOT } from './paths.ts';
import { pluginProblems } from './plugin-flags.ts';
import { uiProblems } from './ui-listeners.ts';

/** Read-only all the way down: the config is frozen once built. */
type Frozen<T> = T extends (infer U)[] ? readonly Frozen<U>[] : T extends object ? { readonly [K in keyof T]: Frozen<T[K]> } : T;

/** The daemon's configuration: its shape is spec/config.json's (src/spec-types/config.ts). */
export type Config = Frozen<DaemonConfig>;

/** TLS for tcp:// listeners (absolute paths; `ca` is read only when `verify` is on). */
export type TlsConfig = NonNullable<Config['tls']>;

/** Flags that cannot make a configuration; the message names each flag and what it takes. */
export class ConfigError extends StartupError {}

function settingsOf(flags: ParsedFlags): Record<string, Record<string, string>> {
  let settings: ReturnType<typeof driverSettings>;
  try {
    settings = driverSettings(flags['driver-opt']);
  } catch (e) {
    throw new ConfigError((e as Error).message); // a value, not the command line: exit 1
  }
  if (flags['plugin-dir']?.length) {
    const dirs = flags['plugin-dir'].map((d) => resolve(d));
    const own = settings['docker-plugins']?.dirs;
    (settings['docker-plugins'] ??= Object.create(null) as Record<string, string>).dirs = [...dirs, ...(own ? [own] : [])].join(':');
  }
  return settings;
}

/** A flag's value as the user typed it, quoted when it would not read as one word. */
const shown = (v: string | undefined) => (v === undefined ? '' : v === '' || /\s/.test(v) ? JSON.stringify(v) : v);

/** A whole number as typed (no hex, sign, fraction or blanks), else NaN for the schema to refuse. */
const wholeNumber = (v: string) => (/^[0-9]{1,9}$/.test(v) ? Number(v) : Number.NaN);

/** Seconds as typed: digits with an optional fraction (no hex, no exponent, no blanks). */
const SECONDS = /^[0-9]+(\.[0-9]+)?$/;

/**
 * How each config property that a flag sets is worded when it breaks its schema rule: in the
 * flag's own terms and unit, with the value given and what the flag takes. The bounds and the
 * allowed values are read from spec/config.json, so they are stated once.
 */
function wordSchemaError(e: ErrorObject, flags: ParsedFlags, hosts: readonly string[], schema: Record<string, any>): string {
  const [, property, index] = e.instancePath.split('/');
  const rule = schema.properties?.[property ?? ''] ?? {};
  switch (property) {
    case 'hosts':
      return `-H ${shown(hosts[Number(index)])}: use unix:///path or tcp://HOST:PORT`;
    case 'logLevel':
      return `--log-level ${shown(flags['log-level'])}: use one of ${(rule.enum as string[]).join(', ')}`;
    case 'logFormat':
      return `--log-format ${shown(flags['log-format'])}: use ${(rule.enum as string[]).join(' or ')}`;
    case 'requestTimeoutMs':
      return `--request-timeout ${shown(flags['request-timeout'])}: use a number of seconds from ${rule.minimum / 1000} to ${rule.maximum / 1000}`;
    case 'maxConnections':
      return `--max-connections ${shown(flags['max-connections'])}: use a whole number from ${rule.minimum} to ${rule.maximum}`;
    case 'keepVersions':
      return `--keep-versions ${shown(flags['keep-versions'])}: use a whole number from ${rule.minimum} to ${rule.maximum}`;
    case 'recoveryWindowMs':
      return (
        `--recovery-window ${shown(flags['recovery-window'])}: use a duration such as 7d, 12h, 30m or 1h30m ` +
        `(whole numbers with d, h, m or s), at most ${rule.maximum / DAY_MS}d`
      );
    case 'store':
      return (
        `--store ${shown(flags.store)}: use sqlite or etcd://HOST:PORT[,HOST:PORT...][/PREFIX] ` +
        "(a port on every endpoint; a prefix of letters, digits, '.', '_' and '-')"
      );
    case 'drivers':
      return `--driver ${shown(flags.driver?.[Number(index)])}: name a module file (.ts, .js) or an installed package`;
    default:
      // Paths are resolved, so they are never empty: left are shapes no flag can produce.
      return `${FLAG_OF[property ?? ''] ?? e.instancePath}: ${e.message}`;
  }
}

/** How the other schema properties are called on the command line. */
const FLAG_OF: Record<string, string> = {
  dataRoot: '--data-root',
  keyring: '--keyring',
  auditLog: '--audit-log',
  kekProvider: '--kek-provider',
  pluginListen: '--plugin-listen',
  etcdTls: '--etcd-cacert/--etcd-cert/--etcd-key',
  tls: '--tlscacert/--tlscert/--tlskey',
};

/** dockerd's rule: --tlsverify implies --tls; the files default to IN_CERT_DIR's names in one folder. */
function tlsOf(flags: ParsedFlags): DaemonConfig['tls'] {
  if (!flags.tls && !flags.tlsverify) return undefined;
  const dir = defaultCertDir();
  return {
    verify: flags.tlsverify === true,
    ca: resolve(flags.tlscacert ?? join(dir, IN_CERT_DIR.ca)),
    cert: resolve(flags.tlscert ?? join(dir, IN_CERT_DIR.cert)),
    key: resolve(flags.tlskey ?? join(dir, IN_CERT_DIR.key)),
  };
}

/** --request-timeout SECONDS in ms (NaN for what is not a number of seconds: the schema refuses it). */
function requestTimeoutMs(seconds: string | undefined): number {
  if (seconds === undefined) return D.requestTimeoutMs;
  return SECONDS.test(seconds) ? Math.round(Number(seconds) * 1000) : Number.NaN;
}

const DAY_MS = 86_400_000;
const UNIT_MS: Record<string, number> = { d: DAY_MS, h: 3_600_000, m: 60_000, s: 1000 };

/** --recovery-window DURATION in ms: `7d`, `1h30m`, `90s`; `0` is off; NaN for the schema to refuse. */
function durationMs(text: string | undefined): number {
  if (text === undefined) return D.recoveryWindowMs;
  if (text === '0') return 0;
  if (!/^([0-9]{1,6}[dhms]){1,4}$/.test(text)) return Number.NaN;
  let ms = 0;
  for (const [, n, unit] of text.matchAll(/([0-9]+)([dhms])/g)) ms += Number(n) * UNIT_MS[unit!]!;
  return ms === 0 ? Number.NaN : ms;
}

export function buildConfig(flags: ParsedFlags, schemas: SchemaRegistry): Config {
  const dataRoot = resolve(flags['data-root'] ?? defaultDataRoot());
  const etcdTls: { ca?: string; cert?: string; key?: string } = {};
  if (flags['etcd-cacert']) etcdTls.ca = resolve(flags['etcd-cacert']);
  if (flags['etcd-cert']) etcdTls.cert = resolve(flags['etcd-cert']);
  if (flags['etcd-key']) etcdTls.key = resolve(flags['etcd-key']);
  const tls = tlsOf(flags);
  const config: DaemonConfig = {
    hosts: flags.host?.length ? flags.host : [defaultHost()],
    dataRoot,
    // Any other word is refused by the schema check below, worded per flag.
    logLevel: (flags['log-level'] ?? D.logLevel) as DaemonConfig['logLevel'],
    logFormat: (flags['log-format'] ?? D.logFormat) as DaemonConfig['logFormat'],
    requestTimeoutMs: requestTimeoutMs(flags['request-timeout']),
    maxConnections: flags['max-connections'] === undefined ? D.maxConnections : wholeNumber(flags['max-connections']),
    swarmInit: flags['no-swarm-init'] ? false : D.swarmInit,
    drivers: flags.driver ?? [],
    driverSettings: settingsOf(flags),
    delivery: flags.delivery === true || D.delivery,
    ui: flags.ui === true || D.ui,
    store: flags.store ?? D.store,
    etcdTls,
    keyring: resolve(flags.keyring ?? join(dataRoot, IN_DATA_ROOT.keyring)),
    ...(tls ? { tls } : {}),
    insecureListen: flags[INSECURE_LISTEN_FLAG] === true || D.insecureListen,
    audit: flags['no-audit'] ? false : D.audit,
    auditLog: resolve(flags['audit-log'] ?? join(dataRoot, IN_DATA_ROOT.auditLog)),
    ...(flags['kek-provider'] ? { kekProvider: flags['kek-provider'] } : {}),
    ...(flags['plugin-listen'] !== undefined ? { pluginListen: resolve(flags['plugin-listen']) } : {}),
    pluginAllow: [...new Set(flags['plugin-allow'] ?? [])],
    keepVersions: flags['keep-versions'] === undefined ? D.keepVersions : wholeNumber(flags['keep-versions']),
    recoveryWindowMs: durationMs(flags['recovery-window']),
    ...(flags['accept-store-loss'] ? { acceptStoreLoss: true } : {}),
  };
  const hosts = config.hosts;
  const validate = schemas.validator('config.json');
  const problems = validate(config) ? [] : (validate.errors ?? []).map((e) => wordSchemaError(e, flags, hosts, schemas.schema('config.json')));
  if (config.store === 'sqlite' && Object.keys(etcdTls).length > 0) problems.push('--etcd-cacert/--etcd-cert/--etcd-key need --store etcd://…');
  if (flags['no-audit'] && flags['audit-log'] !== undefined) problems.push('--audit-log and --no-audit contradict each other');
  if (Boolean(etcdTls.cert) !== Boolean(etcdTls.key)) problems.push('--etcd-cert and --etcd-key go together');
  // dockerd ignores these without --tls; a file named for nothing is more likely a forgotten --tlsverify.
  if (!tls && (flags.tlscacert || flags.tlscert || flags.tlskey)) problems.push('--tlscacert/--tlscert/--tlskey need --tls or --tlsverify');
  if (tls && !tls.verify && flags.tlscacert) problems.push('--tlscacert is used only with --tlsverify (with --tls alone no client certificate is asked for)');
  problems.push(...uiProblems(config.ui, hosts, tls?.verify === true));
  problems.push(...pluginProblems(flags));
  if (problems.length > 0) throw new ConfigError(problems.join('; '));
  return Object.freeze({
    ...config,
    hosts: Object.freeze([...config.hosts]),
    drivers: Object.freeze([...config.drivers]),
    pluginAllow: Object.freeze([...config.pluginAllow]),
    etcdTls: Object.freeze(etcdTls),
    ...(tls ? { tls: Object.freeze(tls) } : {}),
  }) as Config;
}
