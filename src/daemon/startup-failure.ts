/**
 * Why the daemon did not start, as one line for stderr that names the flag or file and the
 * fix. Errors of the branded family (src/core/errors.ts) are worded where they are raised
 * and printed as they are; a file-system error that surfaced raw (ENOENT, EACCES, ENOSPC…) is
 * worded here from its code and path, with the flag that chose the path. Anything else is
 * still one line (its message; a JavaScript TypeError and the like marked as a bug), and its
 * stack is printed only at --log-level debug.
 */
import { accessSync, constants, existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { isSecretdError } from '../core/errors.ts';
import type { Config } from './config.ts';

/** The fix for each errno a start-up file operation can meet, given the path. */
const FS_FIXES: Record<string, (path: string) => string> = {
  ENOENT: (p) =>
    existsSync(dirname(p))
      ? `${p} does not exist: create it, or choose another path`
      : `the folder ${dirname(p)} does not exist: create it (mkdir -p ${dirname(p)}), or choose another path`,
  ENOTDIR: (p) => `a part of ${p} is a file, not a folder: choose another path`,
  EISDIR: (p) => `${p} is a folder, a file is expected: name a file`,
  EEXIST: (p) => `${p} exists and is not a folder: remove it or choose another path`,
  EACCES: (p) => `permission denied on ${p}: let user ${uid()} read and write it (chown/chmod), or choose another path`,
  EPERM: (p) => `operation not permitted on ${p}: let user ${uid()} read and write it (chown/chmod), or choose another path`,
  ENOSPC: (p) => `the disk holding ${p} is full: free some space, or choose a path on another disk`,
  EDQUOT: (p) => `the disk quota of user ${uid()} is used up writing ${p}: free some space, or choose another path`,
  EROFS: (p) => `${p} is on a read-only file system: mount it read-write, or choose a path on a writable disk`,
  EIO: (p) => `an I/O error on ${p}: check the disk (dmesg)`,
  ELOOP: (p) => `too many symbolic links in ${p}: choose another path`,
  ENAMETOOLONG: (p) => `${p} is too long a path: choose a shorter one`,
  EMFILE: () => 'too many open files: raise the limit (ulimit -n)',
  ENFILE: () => 'too many open files on this system: close some, or raise fs.file-max',
};

/** SQLite's codes for the store file (better-sqlite3 names no path). */
const SQLITE_FIXES: Record<string, string> = {
  SQLITE_FULL: 'the disk is full: free some space, or choose a --data-root on another disk',
  SQLITE_CANTOPEN: 'cannot open the database file: check that the folder exists and is writable',
  SQLITE_READONLY: 'the database is read-only: let the daemon write it, or mount the disk read-write',
  SQLITE_IOERR: 'an I/O error: check the disk (dmesg)',
  SQLITE_CORRUPT: 'the database file is corrupt: restore it from a backup',
  SQLITE_NOTADB: 'the file is not an SQLite database: move it away or choose another --data-root',
  SQLITE_BUSY: 'the database is locked by another process: stop it first',
  SQLITE_PERM: 'permission denied: let the daemon read and write the data root',
};

/** The fix for an SQLite code, extended ones (SQLITE_IOERR_WRITE) by their primary code. */
function sqliteFix(code: unknown): string | undefined {
  return typeof code === 'string' ? SQLITE_FIXES[code.replace(/^(SQLITE_[A-Z]+).*$/, '$1')] : undefined;
}

function isErrno(e: unknown): e is NodeJS.ErrnoException {
  return e instanceof Error && typeof (e as NodeJS.ErrnoException).code === 'string' && typeof (e as NodeJS.ErrnoException).path === 'string';
}

function uid(): string {
  return String(process.getuid?.() ?? '?');
}

/** One line for `err`, thrown while starting with `config` (undefined when flags did not parse). */
export function startupFailure(err: unknown, config?: Config): string {
  const e = err instanceof Error ? err : new Error(String(err));
  const line = (s: string) => s.replace(/\s*[\r\n]+\s*/g, ' ').trim();
  if (isSecretdError(e)) {
    if (e.code === 'unavailable' && config && config.store !== 'sqlite') {
      // grpc-js ends its text with an empty "Resolution note:".
      const why = e.message.replace(/[\s.]*Resolution note:\s*$/, '');
      return line(`--store ${config.store}: ${why}: start etcd there, or correct --store`);
    }
    // SQLite's own failure (src/store/sqlite.ts keeps it as the cause): worded with its fix below.
    const cause = (e.cause as { code?: unknown } | undefined)?.code;
    const sqlite = sqliteFix(cause);
    if (e.code === 'unavailable' && sqlite && config) return line(`--data-root ${config.dataRoot}: the store (secretd.db): ${sqlite} (${String(cause)})`);
    return line(e.message);
  }
  // A wrapper that kept the file-system error as its cause is worded from that cause.
  const errno = (isErrno(e.cause) ? e.cause : e) as NodeJS.ErrnoException;
  if (typeof errno.code === 'string') {
    // A write without a path (write(2) on an open file): the data root is where start-up writes.
    const path = typeof errno.path === 'string' ? realName(errno.path) : config?.dataRoot;
    const code = path === undefined ? errno.code : refine(errno.code, path);
    const fix = FS_FIXES[code];
    if (fix && path !== undefined) {
      const flag = config ? flagFor(path, config) : undefined;
      return line(`${flag ? `${flag.flag} ${flag.value}: ` : ''}${fix(path)} (${code})`);
    }
    const sqlite = sqliteFix(errno.code);
    if (sqlite && config) return line(`--data-root ${config.dataRoot}: the store (secretd.db): ${sqlite} (${errno.code})`);
  }
  // JavaScript's own error classes mean a bug of ours; other errors carry a worded message
  // (a module not yet in the branded family, a driver's own error).
  if (e instanceof TypeError || e instanceof RangeError || e instanceof ReferenceError || e instanceof SyntaxError) {
    // Not its message: a JSON.parse SyntaxError quotes the file it read (a keyring).
    return line(`unexpected ${e.name} while starting (a bug: --log-level debug prints its message and stack)`);
  }
  return line(e.message || e.name);
}

/**
 * Node's recursive mkdir reports a folder it cannot make on a read-only disk as ENOENT: when the
 * parent exists, ask the parent itself.
 */
function refine(code: string, path: string): string {
  if (code !== 'ENOENT' || !existsSync(dirname(path))) return code;
  try {
    accessSync(dirname(path), constants.W_OK);
    return code;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EROFS' ? 'EROFS' : code;
  }
}

/** writeFileDurably writes `FILE.new-PID.tmp-N` then renames it: name FILE, not the temporary. */
function realName(path: string): string {
  return path.replace(/\.new-\d+\.tmp-\d+$/, '').replace(/\.(\d+)$/, (m, pid) => (Number(pid) === process.pid ? '' : m));
}

/** The flag whose value is `path` or holds it (the data root holds the store and the pid file). */
function flagFor(path: string, config: Config): { flag: string; value: string } | undefined {
  const files: [string, string | undefined][] = [
    ['--keyring', config.keyring],
    ['--audit-log', config.auditLog],
    ['--tlscert', config.tls?.cert],
    ['--tlskey', config.tls?.key],
    ['--tlscacert', config.tls?.ca],
    ['--etcd-cacert', config.etcdTls.ca],
    ['--etcd-cert', config.etcdTls.cert],
    ['--etcd-key', config.etcdTls.key],
  ];
  const within = (folder: string, p: string) => p.startsWith(`${folder}/`);
  for (const [flag, value] of files) if (value !== undefined && path === value) return { flag, value };
  for (const host of config.hosts) {
    const socket = host.startsWith('unix://') ? host.slice('unix://'.length) : undefined;
    if (socket && (path === socket || within(path, socket))) return { flag: '-H', value: host };
  }
  const root = config.dataRoot;
  if (path === root || within(root, path) || within(path, root)) return { flag: '--data-root', value: root };
  // A folder on the way to a file (the keyring's, the audit log's).
  for (const [flag, value] of files) if (value !== undefined && within(path, value)) return { flag, value };
  return undefined;
}
