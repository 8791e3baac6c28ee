/**
 * Every rule of the command line and of src/daemon/config.ts, as a table: a set of flags and
 * the one message it must give (in the flag's own words and unit), or the config it must make.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildConfig, ConfigError, type Config } from '../../src/daemon/config.ts';
import { FlagError, parseFlags } from '../../src/daemon/flags.ts';
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
    message: "--store etcd://x: use sqlite or etcd://HOST:PORT[,HOST:PORT...][/PREFIX] (a port on every endpoint; a prefix of letters, digits, '.', '_' and '-')",
  },
  {
    argv: ['--store', 'postgres'],
    kind: ConfigError,
    message: "--store postgres: use sqlite or etcd://HOST:PORT[,HOST:PORT...][/PREFIX] (a port on every endpoint; a prefix of letters, digits, '.', '_' and '-')",
  },
  { argv: ['--driver', ''], kind: ConfigError, message: '--driver "": name a module file (.ts, .js) or an installed package' },
  // Rules between flags (src/daemon/config.ts).
  { argv: ['--etcd-cacert', '/ca.pem'], kind: ConfigError, message: '--etcd-cacert/--etcd-cert/--etcd-key need --store etcd://…' },
  { argv: ['--no-audit', '--audit-log', '/a.log'], kind: ConfigError, message: '--audit-log and --no-audit contradict each other' },
  { argv: ['--store', 'etcd://127.0.0.1:2379', '--etcd-cert', '/c.pem'], kind: ConfigError, message: '--etcd-cert and --etcd-key go together' },
  { argv: ['--store', 'etcd://127.0.0.1:2379', '--etcd-key', '/k.pem'], kind: ConfigError, message: '--etcd-cert and --etcd-key go together' },
  { argv: ['--tlscert', '/c.pem'], kind: ConfigError, message: '--tlscacert/--tlscert/--tlskey need --tls or --tlsverify' },
  {
    argv: ['--tls', '--tlscacert', '/ca.pem'],
    kind: ConfigError,
    message: '--tlscacert is used only with --tlsverify (with --tls alone no client certificate is asked for)',
  },
  { argv: ['--ui'], kind: ConfigError, message: '--ui needs a TCP listener for the browser: add -H tcp://127.0.0.1:PORT' },
  {
    argv: ['--ui', '-H', 'tcp://0.0.0.0:2375'],
    kind: ConfigError,
    message: '--ui with -H tcp://0.0.0.0:2375: the console is served off loopback only with --tlsverify (client certificates); use tcp://127.0.0.1:PORT or add --tlsverify',
  },
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

  test('the etcd store with TLS files; relative paths resolved', () => {
    const c = configOf(['--store', 'etcd://10.0.0.1:2379,10.0.0.2:2379/team', '--etcd-cert', 'c.pem', '--etcd-key', 'k.pem']);
    assert.equal(c.store, 'etcd://10.0.0.1:2379,10.0.0.2:2379/team');
    assert.equal(c.etcdTls.cert, `${process.cwd()}/c.pem`);
  });
});
