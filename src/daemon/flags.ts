/**
 * The daemon's command line, dockerd-like. This table is the single list of flags: it feeds
 * node:util parseArgs, the --help text, and the flag table in docs/flags.md (checked by a test).
 */
import { parseArgs } from 'node:util';
import { helpColumns } from '../cli/help.ts';
import { StartupError } from '../core/errors.ts';
import { DaemonConfigDefaults as D } from '../spec-types/config.ts';
import { IN_CERT_DIR, IN_DATA_ROOT } from './paths.ts';

/** The one way to listen off loopback without client certificates; named so that nobody passes it by accident. */
export const INSECURE_LISTEN_FLAG = 'insecure-listen-without-tlsverify-i-understand-every-secret-is-exposed';

export interface FlagSpec {
  name: string;
  short?: string;
  type: 'string' | 'boolean';
  multiple?: boolean;
  arg?: string;
  help: string;
  /**
   * What applies when the flag is not given, in the flag's own words and unit; --help shows it.
   * Taken from spec/config.json's `default` (or src/daemon/paths.ts), never typed twice.
   */
  default?: string;
}

const off = (on: boolean) => (on ? 'on' : 'off');

export const FLAGS: readonly FlagSpec[] = [
  {
    name: 'host',
    short: 'H',
    type: 'string',
    multiple: true,
    arg: 'URL',
    help: 'Where to listen: unix:///path/to.sock or tcp://HOST:PORT; repeat for several. TCP off loopback needs --tlsverify',
    default: 'unix://$XDG_RUNTIME_DIR/secretd.sock, or unix:///run/secretd.sock for root',
  },
  { name: 'tls', type: 'boolean', help: 'Serve tcp:// listeners over TLS (1.2 or later) with --tlscert and --tlskey; implied by --tlsverify' },
  { name: 'tlsverify', type: 'boolean', help: 'TLS, and refuse any client without a certificate signed by --tlscacert' },
  {
    name: 'tlscacert',
    type: 'string',
    arg: 'FILE',
    help: 'The CA (PEM) that signs client certificates, for --tlsverify',
    default: `${IN_CERT_DIR.ca} in $DOCKER_CERT_PATH, else $DOCKER_CONFIG, else ~/.docker`,
  },
  { name: 'tlscert', type: 'string', arg: 'FILE', help: "The daemon's certificate (PEM)", default: `${IN_CERT_DIR.cert} in the same folder` },
  { name: 'tlskey', type: 'string', arg: 'FILE', help: "The daemon's private key (PEM, unencrypted)", default: `${IN_CERT_DIR.key} in the same folder` },
  {
    name: INSECURE_LISTEN_FLAG,
    type: 'boolean',
    help: 'Allow a tcp:// listener off loopback without --tlsverify: whoever reaches it can read and change every secret',
  },
  {
    name: 'data-root',
    type: 'string',
    arg: 'DIR',
    help: 'Where the store, the keyring and the pid file live',
    default: '$XDG_DATA_HOME/secretd, or /var/lib/secretd for root',
  },
  { name: 'log-level', type: 'string', arg: 'LEVEL', help: 'debug, info, warn, error or fatal', default: D.logLevel },
  {
    name: 'log-format',
    type: 'string',
    arg: 'FORMAT',
    help: 'json (one JSON object a line, for machines) or text (one readable line a record, for humans)',
    default: D.logFormat,
  },
  {
    name: 'store',
    type: 'string',
    arg: 'URL',
    help:
      'Where secrets live: sqlite (DATA_ROOT/secretd.db) or etcd://HOST:PORT[,HOST:PORT...][/PREFIX] ' +
      '(etcd v3; daemons on one etcd and prefix form one swarm)',
    default: D.store,
  },
  { name: 'etcd-cacert', type: 'string', arg: 'FILE', help: 'CA bundle (PEM) to verify the etcd servers; giving any --etcd-* file dials etcd over TLS' },
  { name: 'etcd-cert', type: 'string', arg: 'FILE', help: 'Client certificate (PEM) to present to etcd' },
  { name: 'etcd-key', type: 'string', arg: 'FILE', help: 'Private key (PEM) of --etcd-cert' },
  {
    name: 'keyring',
    type: 'string',
    arg: 'FILE',
    help:
      'The key-encryption keys file (created if missing; encrypted under the unlock key while autolock is on); ' +
      'daemons sharing an etcd need copies of one file',
    default: `DATA_ROOT/${IN_DATA_ROOT.keyring}`,
  },
  {
    name: 'kek-provider',
    type: 'string',
    arg: 'MODULE',
    help:
      'Hold the key-encryption keys in a key-provider module instead of the keyring file: ' +
      'a path to a .ts/.js module or an installed package (settings: --driver-opt NAME.KEY=VALUE)',
  },
  {
    name: 'request-timeout',
    type: 'string',
    arg: 'SECONDS',
    help: 'A request, body included, must arrive within this time or its connection is closed',
    default: String(D.requestTimeoutMs / 1000),
  },
  {
    name: 'max-connections',
    type: 'string',
    arg: 'N',
    help: 'Connections each listener holds at most; at the cap an idle one makes room, or the new one is refused',
    default: String(D.maxConnections),
  },
  {
    name: 'no-swarm-init',
    type: 'boolean',
    help: 'Do not make a fresh data root a single-node swarm manager; secrets then answer 503 until `docker swarm init`',
  },
  {
    name: 'driver',
    type: 'string',
    multiple: true,
    arg: 'MODULE',
    help:
      'Load one more driver: a path to a .ts/.js module or an installed package that default-exports a driver; ' +
      'repeat for several (every module in drivers/ is always loaded)',
  },
  {
    name: 'driver-opt',
    type: 'string',
    multiple: true,
    arg: 'NAME.KEY=VALUE',
    help: 'A setting for driver NAME, e.g. file.root=/srv/secrets or env.allow=DB_*; repeat for several',
  },
  {
    name: 'plugin-dir',
    type: 'string',
    multiple: true,
    arg: 'DIR',
    help:
      'One more folder to look for Docker secret-provider plugins in (*.sock, *.spec, *.json), ' +
      'before /run/docker/plugins, /etc/docker/plugins and /usr/lib/docker/plugins',
  },
  {
    name: 'plugin-listen',
    type: 'string',
    arg: 'PATH',
    help:
      "Serve Docker's plugin protocols (secretprovider, VolumeDriver) on this unix socket, e.g. /run/docker/plugins/secretd.sock " +
      "(mode 0600; the plugin's name is the file's base name)",
  },
  {
    name: 'plugin-allow',
    type: 'string',
    multiple: true,
    arg: 'PATTERN',
    help: 'A secret name pattern (* matches any run) the --plugin-listen socket may hand out; repeat for several (none: every plugin request is refused)',
  },
  {
    name: 'keep-versions',
    type: 'string',
    arg: 'N',
    help: "Versions of a secret's value kept (the current one included) when `secretd secret rotate` adds one; older ones are deleted",
    default: String(D.keepVersions),
  },
  {
    name: 'recovery-window',
    type: 'string',
    arg: 'DURATION',
    help: 'Keep a removed secret restorable (`secretd secret restore`) this long, e.g. 7d, 12h or 1h30m; its name is free at once',
    default: D.recoveryWindowMs === 0 ? 'off, removal is final as in Docker' : `${D.recoveryWindowMs / 1000}s`,
  },
  {
    name: 'delivery',
    type: 'boolean',
    help: 'Serve /_secretd/v1: consumer tokens (over the unix socket) and value delivery to token holders',
    default: off(D.delivery),
  },
  {
    name: 'ui',
    type: 'boolean',
    help: 'Serve the web console at /ui on the tcp:// listeners (loopback only unless --tlsverify; needs one -H tcp://HOST:PORT)',
    default: off(D.ui),
  },
  {
    name: 'audit-log',
    type: 'string',
    arg: 'FILE',
    help: 'The audit log: one hash-chained JSON line per change and per delivery, never a value; check it with `secretd audit verify FILE`',
    default: `DATA_ROOT/${IN_DATA_ROOT.auditLog}`,
  },
  { name: 'no-audit', type: 'boolean', help: 'Keep no audit log' },
  {
    name: 'accept-store-loss',
    type: 'boolean',
    help:
      'Start even though the SQLite store holds fewer writes than were acknowledged (a truncated WAL, a deleted or older database): ' +
      'continue with what it holds, and record that in the audit log',
  },
  { name: 'help', short: 'h', type: 'boolean', help: 'Print this help and exit' },
  { name: 'version', short: 'v', type: 'boolean', help: 'Print the version and exit' },
];

export interface ParsedFlags {
  host?: string[];
  tls?: boolean;
  tlsverify?: boolean;
  tlscacert?: string;
  tlscert?: string;
  tlskey?: string;
  [INSECURE_LISTEN_FLAG]?: boolean;
  'data-root'?: string;
  'log-level'?: string;
  'log-format'?: string;
  store?: string;
  'etcd-cacert'?: string;
  'etcd-cert'?: string;
  'etcd-key'?: string;
  keyring?: string;
  'kek-provider'?: string;
  'no-swarm-init'?: boolean;
  'request-timeout'?: string;
  'max-connections'?: string;
  driver?: string[];
  'driver-opt'?: string[];
  'plugin-dir'?: string[];
  'plugin-listen'?: string;
  'plugin-allow'?: string[];
  'keep-versions'?: string;
  'recovery-window'?: string;
  delivery?: boolean;
  ui?: boolean;
  'audit-log'?: string;
  'no-audit'?: boolean;
  'accept-store-loss'?: boolean;
  help?: boolean;
  version?: boolean;
}

/** A command line secretd does not take: an unknown flag, a missing value, a stray argument. */
export class FlagError extends StartupError {}

/** Parses argv against FLAGS; throws a FlagError worded for the flag (never parseArgs' own text). */
export function parseFlags(argv: string[]): ParsedFlags {
  const options = Object.fromEntries(
    FLAGS.map((f) => [f.name, { type: f.type, ...(f.short ? { short: f.short } : {}), ...(f.multiple ? { multiple: true } : {}) }]),
  );
  // Not strict: the tokens tell every mistake apart, and each gets its own wording below.
  const { values, tokens } = parseArgs({ args: argv, options, strict: false, allowPositionals: true, tokens: true });
  for (const t of tokens) {
    if (t.kind === 'positional') throw new FlagError(`unexpected argument ${JSON.stringify(t.value)}: the daemon takes flags only (see secretd --help)`);
    if (t.kind !== 'option') continue;
    const spec = FLAGS.find((f) => f.name === t.name);
    if (!spec) throw new FlagError(`unknown flag ${t.rawName} (see secretd --help)`);
    const flag = t.rawName.startsWith('--') ? t.rawName : `${t.rawName}/--${spec.name}`;
    if (spec.type === 'boolean' && t.value !== undefined) throw new FlagError(`${flag} takes no value (found ${JSON.stringify(t.value)})`);
    // "--data-root --tls": a forgotten value would swallow the next flag.
    if (spec.type === 'string' && (t.value === undefined || (!t.inlineValue && t.value.startsWith('-')))) {
      throw new FlagError(`${flag} needs a value: ${flag} ${spec.arg ?? 'VALUE'}`);
    }
  }
  return values as ParsedFlags;
}

/** `--driver-opt NAME.KEY=VALUE` flags as settings by driver name; throws a FlagError on a malformed one. */
export function driverSettings(opts: readonly string[] = []): Record<string, Record<string, string>> {
  const settings: Record<string, Record<string, string>> = Object.create(null);
  for (const opt of opts) {
    const m = /^([a-zA-Z0-9][a-zA-Z0-9_.-]*?)\.([a-zA-Z0-9_-]+)=(.*)$/s.exec(opt);
    if (!m) throw new FlagError(`--driver-opt ${JSON.stringify(opt)}: use NAME.KEY=VALUE, e.g. file.root=/srv/secrets`);
    (settings[m[1]!] ??= Object.create(null))[m[2]!] = m[3]!;
  }
  return settings;
}

/** A flag's line in --help: what it does, then its default. */
export function helpOf(f: FlagSpec): string {
  return f.default === undefined ? f.help : `${f.help} (default: ${f.default})`;
}

export function helpText(): string {
  const rows = FLAGS.map((f) => [`${f.short ? `-${f.short}, ` : '    '}--${f.name}${f.arg ? ` ${f.arg}` : ''}`, helpOf(f)] as const);
  return [
    'Usage: secretd [OPTIONS]',
    '       secretd secret|stack|token|keys|get|materialize|audit … (see secretd COMMAND --help)',
    '',
    'A Docker Swarm-compatible secrets daemon (Docker Engine API 1.44).',
    '',
    'Options:',
    helpColumns(rows),
    '',
  ].join('\n');
}
