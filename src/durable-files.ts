/**
 * Files that are either whole or absent after a crash: write a temporary file, fsync it, rename
 * (or link) it into place, then fsync the folder so the new name is on disk too. Used by the
 * keyring, the audit log and `secretd materialize`.
 */
import { chmodSync, closeSync, fsyncSync, linkSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/** Writes `file` durably, replacing what was there. */
export function writeFileDurably(file: string, content: string, mode: number): void {
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w', mode);
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  chmodSync(tmp, mode);
  renameSync(tmp, file);
  fsyncFolderOf(file);
}

/** As writeFileDurably, but never replaces an existing file: false when `file` already existed. */
export function createFileDurably(file: string, content: string, mode: number): boolean {
  const tmp = `${file}.new-${process.pid}`;
  writeFileDurably(tmp, content, mode);
  try {
    linkSync(tmp, file); // atomic, and fails if another process created the file first
    fsyncFolderOf(file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  } finally {
    unlinkSync(tmp);
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
