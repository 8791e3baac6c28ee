/**
 * Every rule of the command line and of src/daemon/config.ts, as a table: a set of flags and
 * the one message it must give (in the flag's own words and unit), or the config it must make.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildConfig, ConfigError, type Config } from '../../src/daemon/config.ts';
import { FLAGS, FlagError, helpOf, helpText, parseFlags } from '../../src/daemon/flags.ts';
import { DaemonConfigDefaults } from '../../src/spec-types/config.ts';
import { SchemaRegistry } from '../../src/schemas.ts';
import { isSecretdError } from '../../src/core/errors.ts';

const schemas = new SchemaRegistry();
const base = ['-H', 'unix:///tmp/secretd-config-test.sock', '--data-root', '/tmp/secretd-config-test'];
const configOf = (argv: string[]): Config => buildConfig(parseFlags([...base, ...argv]), schemas);

/** What the command line must say, exactly: the message is the whole contract. */
const REFUSED: { argv: string[]; kind: typeof FlagError | typeof ConfigError; message: string }[] = [
  // The command line itself (src/daemon/flags.ts).
  { argv: ['--bogus'], kind: FlagError, message: 'unknown flag --bogus (see secretd --help)' },
  { argv: ['-Z'], kind: FlagError, message: 'unknown flag -Z (see secretd --help)' },
  { argv: ['--data-root'], kind: FlagError, message: '--data-root needs a value: --data-root DIR' },
  { argv: ['--keyring', '--tls'], kind: FlagError, message: '--keyring needs a value: --keyring FILE' },
  { argv: ['-H'], kind: FlagError, message: '-H/--host needs a value: -H/--host URL' },
  { argv: ['--tls=yes'], kind: FlagError, message: '--tls takes no value (found "yes")' },
  { argv: ['serve'], kind: FlagError, message: 'unexpected argument "serve": the daemon takes flags only (see secretd --help)' },
  { argv: ['--driver-opt', 'nodot=1'], kind: ConfigError, message: '--driver-opt "nodot=1": use NAME.KEY=VALUE, e.g. file.root=/srv/secrets' },
  // Schema rules (spec/config.json), worded per flag.
  { argv: ['-H', 'ftp://x'], kind: ConfigError, message: '-H ftp://x: use unix:///path or tcp://HOST:PORT' },
  { argv: ['--log-level', 'loud'], kind: ConfigError, message: '--log-level loud: use one of debug, info, warn, error, fatal' },
  { argv: ['--log-format', 'yaml'], kind: ConfigError, message: '--log-format yaml: use json or text' },
  { argv: ['--request-timeout', '0.5'], kind: ConfigError, message: '--request-timeout 0.5: use a number of seconds from 1 to 3600' },
  { argv: ['--request-timeout', '3601'], kind: ConfigError, message: '--request-timeout 3601: use a number of seconds from 1 to 3600' },
  { argv: ['--request-timeout', 'ten'], kind: ConfigError, message: '--request-timeout ten: use a number of seconds from 1 to 3600' },
  { argv: ['--request-timeout', '0x10'], kind: ConfigError, message: '--request-timeout 0x10: use a number of seconds from 1 to 3600' },
  { argv: ['--request-timeout', ''], kind: ConfigError, message: '--request-timeout "": use a number of seconds from 1 to 3600' },
  {
    argv: ['--store', 'etcd://x'],
    kind: ConfigError,
    message:
      "--store etcd://x: use sqlite or etcd://HOST:PORT[,HOST:PORT...][/PREFIX] (a port on every endpoint; a prefix of letters, digits, '.', '_' and '-')",
  },
  {
    argv: ['--store', 'postgres'],
    kind: ConfigError,
    message:
      "--store postgres: use sqlite or etcd://HOST:PORT[,HOST:PORT...][/PREFIX] (a port on every endpoint; a prefix of letters, digits, '.', '_' and '-')",
  },
  { argv: ['--driver', ''], kind: ConfigError, message: '--driver "": name a module file (.ts, .js) or an installed package' },
  { argv: ['--max-connections', '0'], kind: ConfigError, message: '--max-connections 0: use a whole number from 1 to 65536' },
  { argv: ['--max-connections', '65537'], kind: ConfigError, message: '--max-connections 65537: use a whole number from 1 to 65536' },
  { argv: ['--max-connections', '1.5'], kind: ConfigError, message: '--max-connections 1.5: use a whole number from 1 to 65536' },
  { argv: ['--max-connections=-1'], kind: ConfigError, message: '--max-connections -1: use a whole number from 1 to 65536' },
  { argv: ['--keep-versions', '0'], kind: ConfigError, message: '--keep-versions 0: use a whole number from 1 to 1000' },
  { argv: ['--keep-versions', '1001'], kind: ConfigError, message: '--keep-versions 1001: use a whole number from 1 to 1000' },
  { argv: ['--keep-versions', 'ten'], kind: ConfigError, message: '--keep-versions ten: use a whole number from 1 to 1000' },
  { argv: ['--keep-versions', ' 5'], kind: ConfigError, message: '--keep-versions " 5": use a whole number from 1 to 1000' },
  ...['7', '7x', '7days', '1h30', '0d', '0h0m', '366d', '1d1d1d1d1d', '-1d', ''].map((window) => ({
    argv: [`--recovery-window=${window}`],
    kind: ConfigError,
    message: `--recovery-window ${window === '' ? '""' : window}: use a duration such as 7d, 12h, 30m or 1h30m (whole numbers with d, h, m or s), at most 365d`,
  })),
  // Rules between flags (src/daemon/config.ts).
  { argv: ['--etcd-cacert', '/ca.pem'], kind: ConfigError, message: '--etcd-cacert/--etcd-cert/--etcd-key need --store etcd://…' },
  { argv: ['--no-audit', '--audit-log', '/a.log'], kind: ConfigError, message: '--audit-log and --no-audit contradict each other' },
  { argv: ['--store', 'etcd://127.0.0.1:2379', '--etcd-cert', '/c.pem'], kind: ConfigError, message: '--etcd-cert and --etcd-key go together' },
  { argv: ['--store', 'etcd://127.0.0.1:2379', '--etcd-key', '/k.pem'], kind: ConfigError, message: '--etcd-cert and --etcd-key go together' },
  { argv: ['--tlscert', '/c.pem'], kind: ConfigError, message: '--tlscacert/--tlscert/--tlskey need --tls or --tlsverify' },
  { argv: ['--tlskey', '/k.pem'], kind: ConfigError, message: '--tlscacert/--tlscert/--tlskey need --tls or --tlsverify' },
  { argv: ['--tlscacert', '/ca.pem'], kind: ConfigError, message: '--tlscacert/--tlscert/--tlskey need --tls or --tlsverify' },
  {
    argv: ['--tls', '--tlscacert', '/ca.pem'],
    kind: ConfigError,
    message: '--tlscacert is used only with --tlsverify (with --tls alone no client certificate is asked for)',
  },
  { argv: ['--ui'], kind: ConfigError, message: '--ui needs a TCP listener for the browser: add -H tcp://127.0.0.1:PORT' },
  {
    argv: ['--ui', '-H', 'tcp://0.0.0.0:2375'],
    kind: ConfigError,
    message:
      '--ui with -H tcp://0.0.0.0:2375: the console is served off loopback only with --tlsverify (client certificates); ' +
      'use tcp://127.0.0.1:PORT or add --tlsverify',
  },
  {
    argv: ['--plugin-listen', '/run/docker/plugins/secretd'],
    kind: ConfigError,
    message:
      '--plugin-listen "/run/docker/plugins/secretd": use a path ending in NAME.sock (dockerd names the plugin NAME), e.g. /run/docker/plugins/secretd.sock',
  },
  {
    argv: ['--plugin-listen', '/p/secretd.sock', '--plugin-allow', 'db/*'],
    kind: ConfigError,
    message: '--plugin-allow "db/*": use the characters of secret names and *',
  },
  { argv: ['--plugin-allow', 'db_*'], kind: ConfigError, message: '--plugin-allow needs --plugin-listen' },
  // Several problems: every one, in one line.
  {
    argv: ['--log-level', 'loud', '--no-audit', '--audit-log', '/a.log'],
    kind: ConfigError,
    message: '--log-level loud: use one of debug, info, warn, error, fatal; --audit-log and --no-audit contradict each other',
  },
];

describe('config: every rule refuses with its own message', () => {
  for (const { argv, kind, message } of REFUSED) {
    test(argv.join(' ') || '(empty)', () => {
      assert.throws(
        () => configOf(argv),
        (e: unknown) => {
          assert.ok(e instanceof kind, `${(e as Error).name}: ${(e as Error).message}`);
          assert.ok(isSecretdError(e), 'a start-up error of the branded family');
          assert.equal((e as Error).message, message);
          assert.ok(!(e as Error).message.includes('\n'), 'one line');
          return true;
        },
      );
    });
  }
});

describe('config: what the flags make', () => {
  test('defaults: one socket, 60 s, sqlite, info, audit on, files in the data root', () => {
    const c = buildConfig(parseFlags(['--data-root', '/srv/d']), schemas);
    assert.equal(c.hosts.length, 1);
    assert.match(c.hosts[0]!, /^unix:\/\/\/.+secretd\.sock$/);
    assert.equal(c.requestTimeoutMs, 60_000);
    assert.equal(c.store, 'sqlite');
    assert.equal(c.logLevel, 'info');
    assert.equal(c.logFormat, 'json');
    assert.equal(c.audit, true);
    assert.equal(c.keyring, '/srv/d/keyring.json');
    assert.equal(c.auditLog, '/srv/d/audit.log');
    assert.equal(c.tls, undefined);
    assert.ok(Object.isFrozen(c) && Object.isFrozen(c.hosts));
  });

  test('--request-timeout takes seconds, fractions included, within the bounds', () => {
    assert.equal(configOf(['--request-timeout', '1']).requestTimeoutMs, 1000);
    assert.equal(configOf(['--request-timeout', '2.5']).requestTimeoutMs, 2500);
    assert.equal(configOf(['--request-timeout', '3600']).requestTimeoutMs, 3_600_000);
  });

  test('--tlsverify implies --tls; the files default to one folder', () => {
    const c = buildConfig(parseFlags([...base, '--tlsverify']), schemas);
    assert.equal(c.tls?.verify, true);
    assert.match(c.tls!.ca, /\/ca\.pem$/);
    assert.match(c.tls!.cert, /\/cert\.pem$/);
  });

  test('--plugin-dir folders come before a docker-plugins.dirs setting; --driver-opt by driver', () => {
    const c = configOf(['--plugin-dir', '/p1', '--driver-opt', 'docker-plugins.dirs=/p2', '--driver-opt', 'file.root=/srv/s']);
    assert.equal(c.driverSettings['docker-plugins']?.dirs, '/p1:/p2');
    assert.equal(c.driverSettings.file?.root, '/srv/s');
  });

  test('--max-connections and --keep-versions take whole numbers up to their bounds', () => {
    assert.equal(configOf(['--max-connections', '1']).maxConnections, 1);
    assert.equal(configOf(['--max-connections', '65536']).maxConnections, 65536);
    assert.equal(configOf(['--keep-versions', '1']).keepVersions, 1);
    assert.equal(configOf(['--keep-versions', '1000']).keepVersions, 1000);
  });

  test('--recovery-window adds up d, h, m and s; 0 turns it off; 365d is the most', () => {
    const ms = (w: string) => configOf(['--recovery-window', w]).recoveryWindowMs;
    assert.equal(ms('7d'), 7 * 86_400_000);
    assert.equal(ms('1h30m'), 5_400_000);
    assert.equal(ms('90s'), 90_000);
    assert.equal(ms('1d2h3m4s'), 86_400_000 + 2 * 3_600_000 + 3 * 60_000 + 4000);
    assert.equal(ms('365d'), 365 * 86_400_000);
    assert.equal(ms('0'), 0);
  });

  test('the switches: --no-swarm-init, --no-audit, --delivery, --ui, the loud flag, --accept-store-loss', () => {
    const c = configOf([
      '--no-swarm-init',
      '--no-audit',
      '--delivery',
      '--accept-store-loss',
      '--insecure-listen-without-tlsverify-i-understand-every-secret-is-exposed',
    ]);
    assert.equal(c.swarmInit, false);
    assert.equal(c.audit, false);
    assert.equal(c.delivery, true);
    assert.equal(c.insecureListen, true);
    assert.equal(c.acceptStoreLoss, true);
    assert.equal(configOf(['--ui', '-H', 'tcp://127.0.0.1:2375']).ui, true);
    const plain = configOf([]);
    assert.deepEqual(
      [plain.swarmInit, plain.audit, plain.delivery, plain.ui, plain.insecureListen, plain.acceptStoreLoss],
      [true, true, false, false, false, undefined],
    );
  });

  test('-H repeats in order; --driver repeats; --kek-provider is kept as typed', () => {
    const c = configOf(['-H', 'tcp://127.0.0.1:2375', '--driver', './d.ts', '--driver', 'pkg', '--kek-provider', './kp.ts']);
    assert.deepEqual(c.hosts, ['unix:///tmp/secretd-config-test.sock', 'tcp://127.0.0.1:2375']);
    assert.deepEqual(c.drivers, ['./d.ts', 'pkg']);
    assert.equal(c.kekProvider, './kp.ts');
    assert.equal(configOf([]).kekProvider, undefined);
  });

  test('--plugin-listen is resolved; --plugin-allow patterns are kept once each', () => {
    const c = configOf(['--plugin-listen', 'p/secretd.sock', '--plugin-allow', 'db_*', '--plugin-allow', 'db_*', '--plugin-allow', 'api']);
    assert.equal(c.pluginListen, `${process.cwd()}/p/secretd.sock`);
    assert.deepEqual(c.pluginAllow, ['db_*', 'api']);
  });

  test('--tls alone asks no client certificate; --tlsverify with --tlscacert names the CA', () => {
    assert.equal(configOf(['--tls']).tls?.verify, false);
    assert.equal(configOf(['--tlsverify', '--tlscacert', '/x/ca.pem']).tls?.ca, '/x/ca.pem');
  });

  test('--ui off loopback is allowed with --tlsverify', () => {
    assert.equal(configOf(['--ui', '--tlsverify', '-H', 'tcp://0.0.0.0:2376']).ui, true);
  });

  test('the config, its lists and its nested objects are frozen', () => {
    const c = configOf(['--tlsverify', '--driver', 'x', '--store', 'etcd://127.0.0.1:2379', '--etcd-cacert', '/ca.pem']);
    for (const part of [c, c.hosts, c.drivers, c.pluginAllow, c.etcdTls, c.tls]) assert.ok(Object.isFrozen(part));
  });

  test('the etcd store with TLS files; relative paths resolved', () => {
    const c = configOf(['--store', 'etcd://10.0.0.1:2379,10.0.0.2:2379/team', '--etcd-cert', 'c.pem', '--etcd-key', 'k.pem']);
    assert.equal(c.store, 'etcd://10.0.0.1:2379,10.0.0.2:2379/team');
    assert.equal(c.etcdTls.cert, `${process.cwd()}/c.pem`);
  });
});

describe('--help shows the default that applies', () => {
  const dataRoot = '/srv/secretd-defaults';
  const made = buildConfig(parseFlags(['--data-root', dataRoot, '--tlsverify']), schemas);
  const certDir = made.tls!.cert.replace(/\/[^/]+$/, '');
  /** Each flag's default as --help must word it, computed from the config built without the flag. */
  const SHOWN: Record<string, { property?: keyof typeof DaemonConfigDefaults; shown: string }> = {
    'log-level': { property: 'logLevel', shown: made.logLevel },
    'log-format': { property: 'logFormat', shown: made.logFormat },
    store: { property: 'store', shown: made.store },
    'request-timeout': { property: 'requestTimeoutMs', shown: String(made.requestTimeoutMs / 1000) },
    'max-connections': { property: 'maxConnections', shown: String(made.maxConnections) },
    'keep-versions': { property: 'keepVersions', shown: String(made.keepVersions) },
    'recovery-window': {
      property: 'recoveryWindowMs',
      shown: made.recoveryWindowMs === 0 ? 'off, removal is final as in Docker' : `${made.recoveryWindowMs / 1000}s`,
    },
    delivery: { property: 'delivery', shown: made.delivery ? 'on' : 'off' },
    ui: { property: 'ui', shown: made.ui ? 'on' : 'off' },
    keyring: { shown: made.keyring.replace(dataRoot, 'DATA_ROOT') },
    'audit-log': { shown: made.auditLog.replace(dataRoot, 'DATA_ROOT') },
    tlscacert: { shown: `${made.tls!.ca.replace(`${certDir}/`, '')} in $DOCKER_CERT_PATH, else $DOCKER_CONFIG, else ~/.docker` },
    tlscert: { shown: `${made.tls!.cert.replace(`${certDir}/`, '')} in the same folder` },
    tlskey: { shown: `${made.tls!.key.replace(`${certDir}/`, '')} in the same folder` },
  };
  /** Defaults no help line shows: a switch turns them off, or the loudly named flag turns it on. */
  const SWITCHED: readonly string[] = ['swarmInit', 'audit', 'insecureListen'];

  for (const [name, { shown }] of Object.entries(SHOWN)) {
    test(`--${name}: (default: ${shown})`, () => {
      const flag = FLAGS.find((f) => f.name === name);
      assert.ok(flag, `--${name} is a flag`);
      assert.equal(flag.default, shown);
      assert.ok(helpOf(flag).endsWith(`(default: ${shown})`), helpOf(flag));
      assert.ok(helpText().replace(/\s+/g, ' ').includes(`(default: ${shown})`.replace(/\s+/g, ' ')), 'in --help');
    });
  }

  test('every default in spec/config.json is shown by a flag or named as switched', () => {
    const covered = new Set<string>([...Object.values(SHOWN).flatMap((s) => (s.property ? [s.property] : [])), ...SWITCHED]);
    assert.deepEqual(
      Object.keys(DaemonConfigDefaults).filter((k) => !covered.has(k)),
      [],
    );
  });

  test('no help text spells a default of its own', () => {
    for (const f of FLAGS) assert.doesNotMatch(f.help, /default:|\(default|by default/i, `--${f.name}: put it in FlagSpec.default`);
  });
});
