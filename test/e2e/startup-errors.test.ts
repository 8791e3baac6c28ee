/**
 * Every start-up mistake an operator can make, against the real command (bin/secretd.mjs): one
 * line on stderr naming the flag or the file and the fix, a non-zero exit, no stack trace.
 * A full disk and a read-only disk are real tmpfs mounts in a user namespace (unshare -rm);
 * "permission denied" is a real other user when the tests run as root.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { PROJECT_ROOT } from '../helpers/daemon.ts';

const BIN = join(PROJECT_ROOT, 'bin', 'secretd.mjs');
const scratch = mkdtempSync(join(tmpdir(), 'secretd-startup-'));
chmodSync(scratch, 0o755); // another user runs one case
after(() => rmSync(scratch, { recursive: true, force: true }));
const isRoot = process.getuid?.() === 0;
const NOBODY = 65534;

/** A port nothing listens on: bound by us, then closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const userNamespaces = spawnSync('unshare', ['-rm', 'true'], { stdio: 'ignore' }).status === 0;

interface Mistake {
  name: string;
  /** Flags after -H and --data-root (both in a fresh folder `dir`). */
  args: (dir: string) => string[] | Promise<string[]>;
  /** The data root, when the case needs its own (default: dir/data). */
  dataRoot?: (dir: string) => string;
  /** Set the scene in `dir` before the start. */
  prepare?: (dir: string) => void;
  /** A tmpfs the daemon sees at dir/mnt: full (filled up first) or read-only. */
  mount?: 'full' | 'ro';
  /** Run as another user (root only). */
  asNobody?: boolean;
  skip?: string | false;
  /** What the line must name (the flag or the file) and the fix it must give. */
  names: (dir: string) => string;
  fix: RegExp;
  status?: number;
}

const MISTAKES: Mistake[] = [
  { name: 'an unknown flag', args: () => ['--bogus'], names: () => '--bogus', fix: /see secretd --help/, status: 2 },
  { name: 'a flag without its value', args: () => ['--keyring'], names: () => '--keyring', fix: /needs a value: --keyring FILE/, status: 2 },
  { name: 'a stray argument', args: () => ['start'], names: () => '"start"', fix: /takes flags only/, status: 2 },
  {
    name: 'a recovery window in words',
    args: () => ['--recovery-window', '3 days'],
    names: () => '--recovery-window "3 days"',
    fix: /use a duration such as 7d, 12h, 30m or 1h30m/,
  },
  { name: 'no versions kept', args: () => ['--keep-versions', '0'], names: () => '--keep-versions 0', fix: /use a whole number from 1 to 1000/ },
  { name: 'a timeout in the wrong unit', args: () => ['--request-timeout', '0.5'], names: () => '--request-timeout 0.5', fix: /seconds from 1 to 3600/ },
  { name: 'an unknown log level', args: () => ['--log-level', 'loud'], names: () => '--log-level loud', fix: /use one of debug, info, warn, error, fatal/ },
  { name: 'a malformed store URL', args: () => ['--store', 'etcd://x'], names: () => '--store etcd://x', fix: /etcd:\/\/HOST:PORT/ },
  {
    name: 'an etcd nobody answers at',
    args: async () => ['--store', `etcd://127.0.0.1:${await closedPort()}`],
    names: () => '--store etcd://127.0.0.1:',
    fix: /start etcd there, or correct --store/,
  },
  {
    name: 'a data root that is a file',
    prepare: (dir) => writeFileSync(join(dir, 'plain'), ''),
    dataRoot: (dir) => join(dir, 'plain'),
    args: () => [],
    names: (dir) => `--data-root ${join(dir, 'plain')}`,
    fix: /exists and is not a folder: remove it or choose another path/,
  },
  {
    name: 'a data root below a file',
    prepare: (dir) => writeFileSync(join(dir, 'plain'), ''),
    dataRoot: (dir) => join(dir, 'plain', 'data'),
    args: () => [],
    names: (dir) => `--data-root ${join(dir, 'plain', 'data')}`,
    fix: /is a file, not a folder/,
  },
  {
    name: 'a data root on a full disk',
    mount: 'full',
    skip: !userNamespaces && 'no user namespaces (unshare -rm) to mount a small tmpfs in',
    dataRoot: (dir) => join(dir, 'mnt', 'data'),
    args: () => [],
    names: (dir) => `--data-root ${join(dir, 'mnt', 'data')}`,
    fix: /is full\b.*: free some space/,
  },
  {
    name: 'a data root on a read-only disk',
    mount: 'ro',
    skip: !userNamespaces && 'no user namespaces (unshare -rm) to mount a read-only tmpfs',
    dataRoot: (dir) => join(dir, 'mnt', 'data'),
    args: () => [],
    names: (dir) => `--data-root ${join(dir, 'mnt', 'data')}`,
    fix: /read-only file system: mount it read-write/,
  },
  {
    name: 'a data root the user may not write',
    asNobody: isRoot,
    prepare: (dir) => {
      mkdirSync(join(dir, 'locked'), { mode: 0o700 });
      if (isRoot)
        chownSync(dir, NOBODY, NOBODY); // nobody may enter dir, not dir/locked
      else chmodSync(join(dir, 'locked'), 0o500);
    },
    dataRoot: (dir) => join(dir, 'locked', 'data'),
    args: () => [],
    names: (dir) => `--data-root ${join(dir, 'locked', 'data')}`,
    fix: /permission denied on .*chown\/chmod/,
  },
  {
    name: 'a keyring that is a folder',
    prepare: (dir) => mkdirSync(join(dir, 'keys')),
    args: (dir) => ['--keyring', join(dir, 'keys')],
    names: (dir) => join(dir, 'keys'),
    fix: /EISDIR|is a folder/,
  },
  {
    name: 'an audit log that is a folder',
    prepare: (dir) => mkdirSync(join(dir, 'audit')),
    args: (dir) => ['--audit-log', join(dir, 'audit')],
    names: (dir) => `--audit-log ${join(dir, 'audit')}`,
    fix: /is a folder, a file is expected/,
  },
  {
    name: 'a socket below a file',
    prepare: (dir) => writeFileSync(join(dir, 'plain'), ''),
    args: (dir) => ['-H', `unix://${join(dir, 'plain', 'secretd.sock')}`],
    names: (dir) => `-H unix://${join(dir, 'plain', 'secretd.sock')}`,
    fix: /exists and is not a folder|is a file, not a folder/,
  },
  {
    name: 'a TLS key that is not there',
    prepare: (dir) => writeFileSync(join(dir, 'cert.pem'), ''),
    args: (dir) => ['-H', 'tcp://127.0.0.1:0', '--tls', '--tlscert', join(dir, 'cert.pem'), '--tlskey', join(dir, 'nokey.pem')],
    names: (dir) => `--tlskey ${join(dir, 'nokey.pem')}`,
    fix: /cannot read it \(no such file\)/,
  },
  {
    name: 'a driver that is not there',
    args: () => ['--driver', './no-such-driver.ts'],
    names: () => './no-such-driver.ts',
    fix: /failed to load/,
  },
];

/** Runs the command as the case says; the line it printed, its status and all it printed. */
async function start(m: Mistake, dir: string) {
  const dataRoot = m.dataRoot?.(dir) ?? join(dir, 'data');
  const argv = [BIN, '-H', `unix://${join(dir, 'secretd.sock')}`, '--data-root', dataRoot, ...(await m.args(dir))];
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const mnt = join(dir, 'mnt');
  const options = { cwd: dir, encoding: 'utf8' as const, timeout: 60_000, ...(m.asNobody ? { uid: NOBODY, gid: NOBODY } : {}) };
  if (!m.mount) return spawnSync(process.execPath, argv, options);
  mkdirSync(mnt);
  const mount =
    m.mount === 'full'
      ? `mount -t tmpfs -o size=64k tmpfs ${quote(mnt)} && (dd if=/dev/zero of=${quote(join(mnt, 'fill'))} bs=4k 2>/dev/null; true) && mkdir ${quote(dataRoot)}`
      : `mount -t tmpfs -o ro,size=64k tmpfs ${quote(mnt)}`;
  return spawnSync('unshare', ['-rm', 'sh', '-c', `${mount} && exec ${[process.execPath, ...argv].map(quote).join(' ')}`], options);
}

describe('start-up mistakes: one line naming the flag or file and the fix, no stack trace', () => {
  for (const m of MISTAKES) {
    test(m.name, { skip: m.skip || false }, async () => {
      const dir = mkdtempSync(join(scratch, 'case-'));
      chmodSync(dir, 0o755);
      m.prepare?.(dir);
      const r = await start(m, dir);
      const lines = r.stderr.split('\n').filter((l) => l !== '');
      const all = `status ${r.status}\nstderr:\n${r.stderr}\nstdout:\n${r.stdout}`;
      assert.equal(lines.length, 1, all);
      const [line] = lines as [string];
      assert.ok(line.startsWith('secretd: '), all);
      assert.ok(line.includes(m.names(dir)), `names ${m.names(dir)}: ${all}`);
      assert.match(line, m.fix, all);
      assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
      assert.equal(r.status, m.status ?? 1, all);
      assert.equal(r.stdout, '', 'nothing on stdout: it did not start');
    });
  }
});
