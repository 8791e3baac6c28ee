/**
 * How any error met while starting becomes one line (src/daemon/startup-failure.ts): branded
 * errors as worded, raw file-system and SQLite errors with the flag, the path and the fix,
 * anything else without leaking what a parser quoted. The e2e table (test/e2e/startup-errors)
 * meets the same errors for real.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildConfig } from '../../src/daemon/config.ts';
import { parseFlags } from '../../src/daemon/flags.ts';
import { startupFailure } from '../../src/daemon/startup-failure.ts';
import { SchemaRegistry } from '../../src/schemas.ts';
import { StartupError, StoreUnavailable } from '../../src/core/errors.ts';

const schemas = new SchemaRegistry();
const config = buildConfig(
  parseFlags(['-H', 'unix:///run/x/s.sock', '--data-root', '/srv/d', '--keyring', '/nonexistent-secretd-test/k/keyring.json']),
  schemas,
);
const etcd = buildConfig(parseFlags(['-H', 'unix:///run/x/s.sock', '--data-root', '/srv/d', '--store', 'etcd://127.0.0.1:1']), schemas);

function errno(code: string, path?: string, message = `${code}: something`): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code, ...(path ? { path, syscall: 'open' } : {}) });
}

const CASES: [title: string, err: unknown, cfg: typeof config | undefined, line: string][] = [
  ['a branded error as worded', new StartupError('--tlskey /k.pem: cannot read it (no such file)'), config, '--tlskey /k.pem: cannot read it (no such file)'],
  ['a multi-line message becomes one line', new StartupError('first\n  second\r\nthird'), config, 'first second third'],
  [
    'etcd out of reach names --store',
    new StoreUnavailable('etcd at 127.0.0.1:1 is unavailable: 14 UNAVAILABLE: No connection established. Resolution note: '),
    etcd,
    '--store etcd://127.0.0.1:1: etcd at 127.0.0.1:1 is unavailable: 14 UNAVAILABLE: No connection established: start etcd there, or correct --store',
  ],
  [
    "the keyring's temporary file is named as the keyring",
    errno('EACCES', `/nonexistent-secretd-test/k/keyring.json.new-1.tmp-1`),
    config,
    '--keyring /nonexistent-secretd-test/k/keyring.json: permission denied on /nonexistent-secretd-test/k/keyring.json: ' +
      `let user ${process.getuid?.()} read and write it (chown/chmod), or choose another path (EACCES)`,
  ],
  [
    'a missing folder on the way to the keyring',
    errno('ENOENT', '/nonexistent-secretd-test/k/keyring.json'),
    config,
    '--keyring /nonexistent-secretd-test/k/keyring.json: the folder /nonexistent-secretd-test/k does not exist: ' +
      'create it (mkdir -p /nonexistent-secretd-test/k), or choose another path (ENOENT)',
  ],
  [
    'a file in the data root',
    errno('EISDIR', '/srv/d/secretd.db'),
    config,
    '--data-root /srv/d: /srv/d/secretd.db is a folder, a file is expected: name a file (EISDIR)',
  ],
  [
    "the socket's folder",
    errno('ENOTDIR', '/run/x'),
    config,
    '-H unix:///run/x/s.sock: a part of /run/x is a file, not a folder: choose another path (ENOTDIR)',
  ],
  [
    'a full disk on a write without a path',
    errno('ENOSPC'),
    config,
    '--data-root /srv/d: the disk holding /srv/d is full: free some space, or choose a path on another disk (ENOSPC)',
  ],
  [
    'a path no flag names',
    errno('EROFS', '/opt/other'),
    config,
    '/opt/other is on a read-only file system: mount it read-write, or choose a path on a writable disk (EROFS)',
  ],
  [
    'a wrapper that kept the errno as its cause',
    new Error('cannot read /nonexistent-secretd-test/k/keyring.json', { cause: errno('EIO', '/nonexistent-secretd-test/k/keyring.json') }),
    config,
    '--keyring /nonexistent-secretd-test/k/keyring.json: an I/O error on /nonexistent-secretd-test/k/keyring.json: check the disk (dmesg) (EIO)',
  ],
  [
    'SQLite: a full disk',
    errno('SQLITE_FULL', undefined, 'database or disk is full'),
    config,
    '--data-root /srv/d: the store (secretd.db): the disk is full: free some space, or choose a --data-root on another disk (SQLITE_FULL)',
  ],
  [
    'SQLite: a lock held elsewhere, as the store words it (StoreUnavailable with the SQLite error as its cause)',
    new StoreUnavailable('the store (secretd.db) cannot be used: another process holds its lock (SQLITE_BUSY)', {
      cause: errno('SQLITE_BUSY', undefined, 'database is locked'),
    }),
    config,
    '--data-root /srv/d: the store (secretd.db): the database is locked by another process: stop it first (SQLITE_BUSY)',
  ],
  [
    'a plain Error: its message',
    new Error('another secretd (pid 7) is using the data root /srv/d'),
    config,
    'another secretd (pid 7) is using the data root /srv/d',
  ],
  [
    'a JavaScript error: a bug, and not what it quoted',
    new SyntaxError('Unexpected token in JSON: "kek-material-here"'),
    config,
    'unexpected SyntaxError while starting (a bug: --log-level debug prints its message and stack)',
  ],
  ['not an Error at all', 'a string', undefined, 'a string'],
];

describe('startupFailure', () => {
  for (const [title, err, cfg, line] of CASES) test(title, () => assert.equal(startupFailure(err, cfg), line));
});
