/**
 * Files that are either whole or absent after a crash: write a temporary file, fsync it, rename
 * (or link) it into place, then fsync the folder so the new name is on disk too. Used by the
 * keyring, the audit log, the pid file and `secretd materialize`.
 *
 * Nothing here follows a symbolic link someone planted: temporary names are random and opened
 * with O_CREAT|O_EXCL|O_NOFOLLOW (an existing name, link or not, fails), the mode is set on the
 * open descriptor (fchmod), and rename/link replace or refuse a link at the target, never write
 * through it. The daemon's own files are opened with `openOwnFile` (O_NOFOLLOW) for the same reason.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants, fchmodSync, fsyncSync, linkSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { StartRefused } from './core/errors.ts';

const { O_CREAT, O_EXCL, O_NOFOLLOW, O_WRONLY } = constants;

/** A file of the daemon's is a symbolic link: refused rather than followed. */
export class SymlinkRefused extends StartRefused {
  readonly path: string;
  constructor(path: string) {
    super(`${path} is a symbolic link; secretd does not follow links for its own files: remove it (or copy the real file there)`);
    this.path = path;
  }
}

/** Opens `path` with `flags`, never through a symbolic link at `path` itself (SymlinkRefused). */
export function openOwnFile(path: string, flags: number, mode = 0o600): number {
  try {
    return openSync(path, flags | O_NOFOLLOW, mode);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ELOOP') throw new SymlinkRefused(path);
    throw e;
  }
}

/** Writes `file` durably, replacing what was there. */
export function writeFileDurably(file: string, content: string, mode: number): void {
  const tmp = writeTemporary(file, content, mode);
  try {
    renameSync(tmp, file);
  } catch (e) {
    unlinkQuietly(tmp);
    throw e;
  }
  fsyncFolderOf(file);
}

/** As writeFileDurably, but never replaces an existing file: false when `file` already existed. */
export function createFileDurably(file: string, content: string, mode: number): boolean {
  const tmp = writeTemporary(file, content, mode);
  try {
    linkSync(tmp, file); // atomic, and fails if another process created the file (or a link) first
    fsyncFolderOf(file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  } finally {
    unlinkQuietly(tmp);
  }
}

/** Makes a new, renamed or removed name in the folder holding `path` durable. */
export function fsyncFolderOf(path: string): void {
  const fd = openSync(dirname(path), 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** A new file beside `file` under a name nobody can guess, holding `content`, synced; its path. */
function writeTemporary(file: string, content: string, mode: number): string {
  const tmp = `${file}.tmp-${randomBytes(12).toString('hex')}`;
  const fd = openSync(tmp, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW, mode);
  try {
    fchmodSync(fd, mode); // the umask may have narrowed (or widened) what open set
    const bytes = Buffer.from(content);
    for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    unlinkQuietly(tmp);
    throw e;
  }
  closeSync(fd);
  return tmp;
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}
