/**
 * One daemon per data root: an OS lock, held for the life of the process. Node has no flock, so
 * the lock is SQLite's (fcntl): `secretd.lock` is opened as a database in exclusive locking mode
 * with an exclusive transaction left open until the daemon stops. The kernel releases it when the
 * process dies, kill -9 included. Deleting the pid file lets no second daemon in; a deleted or
 * replaced lock file would be a new, unlocked file, so the daemon watches its name and locks the
 * new file within half a second (we never remove the lock file ourselves).
 *
 * `secretd.pid` is written after the lock is taken, for operators and init systems only: it
 * names the daemon in the refusal, and nothing trusts it.
 */
import { closeSync, constants, lstatSync, readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openOwnFile, SymlinkRefused, writeFileDurably } from '../durable-files.ts';
import { StartRefused } from '../core/errors.ts';

export const LOCK_FILE = 'secretd.lock';
export const PID_FILE = 'secretd.pid';

export class DataRootBusy extends StartRefused {}

/** How often a running daemon checks that its lock file (and pid file) is still in place. */
const WATCH_MS = 500;

/**
 * Locks `dataRoot` or throws DataRootBusy; the returned function releases it. While held, a
 * lock file someone deleted (or replaced) is recreated and locked again within WATCH_MS, and a
 * deleted pid file rewritten, so `rm secretd.lock secretd.pid` does not open the door for long;
 * `onLost` hears if another process got the new lock first.
 */
export function lockDataRoot(dataRoot: string, onLost: (message: string) => void = () => {}): () => void {
  const file = join(dataRoot, LOCK_FILE);
  const pidFile = join(dataRoot, PID_FILE);
  let lock = takeLock(file);
  if (!lock) {
    const pid = Number.parseInt(readText(pidFile), 10);
    const who = Number.isInteger(pid) && pid > 0 ? `another secretd (pid ${pid})` : 'another secretd';
    throw new DataRootBusy(`${who} is using the data root ${dataRoot} (it holds ${file} locked); stop it first, or use another --data-root`);
  }
  try {
    writeFileDurably(pidFile, `${process.pid}\n`, 0o644);
  } catch (e) {
    release(lock.db);
    throw e;
  }
  let lost = false;
  const watch = setInterval(() => {
    if (lost) return;
    try {
      if (lstatSync(file, { throwIfNoEntry: false })?.ino !== lock!.ino) {
        const again = takeLock(file);
        if (!again) {
          lost = true;
          onLost(`${file} was replaced and another process holds it now: a second daemon may be using the data root ${dataRoot}`);
          return;
        }
        release(lock!.db);
        lock = again;
      }
      if (!lstatSync(pidFile, { throwIfNoEntry: false })) writeFileDurably(pidFile, `${process.pid}\n`, 0o644);
    } catch {
      // tried again at the next tick
    }
  }, WATCH_MS);
  watch.unref();
  return () => {
    clearInterval(watch);
    try {
      if (Number.parseInt(readText(pidFile), 10) === process.pid) unlinkSync(pidFile);
    } catch {
      // already gone
    }
    release(lock!.db);
  };
}

/** The lock on `file` (created 0600 if missing, never through a link), or undefined when another process holds it. */
function takeLock(file: string): { db: Database.Database; ino: number } | undefined {
  if (lstatSync(file, { throwIfNoEntry: false })?.isSymbolicLink()) throw new SymlinkRefused(file);
  closeSync(openOwnFile(file, constants.O_CREAT | constants.O_RDWR, 0o600));
  const db = new Database(file, { timeout: 0 });
  try {
    db.pragma('journal_mode = MEMORY'); // nothing is ever written: no journal file to leave behind
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE');
  } catch (e) {
    db.close();
    if ((e as { code?: string }).code === 'SQLITE_BUSY') return undefined;
    throw e;
  }
  held.add(db);
  // The name may have been swapped between open and lock: the inode locked is the one watched.
  return { db, ino: lstatSync(file).ino };
}

/** Open lock databases: referenced here so they live exactly as long as their lock. */
const held = new Set<Database.Database>();

function release(db: Database.Database): void {
  if (!held.delete(db)) return;
  db.exec('ROLLBACK');
  db.close();
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
