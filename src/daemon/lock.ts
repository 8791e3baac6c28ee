/**
 * One daemon per data root: an OS lock, held for the life of the process. Node has no flock, so
 * the lock is SQLite's (fcntl): `secretd.lock` is opened as a database in exclusive locking mode
 * with an exclusive transaction left open until the daemon stops. The kernel releases it when the
 * process dies, kill -9 included; deleting a file (the pid file, the lock file) lets no second
 * daemon in, since the first still holds its lock on the open file (and a recreated lock file is
 * a new file the first daemon no longer uses — so the lock file is never removed by us).
 *
 * `secretd.pid` is written after the lock is taken, for operators and init systems only: it
 * names the daemon in the refusal, and nothing trusts it.
 */
import { closeSync, constants, lstatSync, readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openOwnFile, SymlinkRefused, writeFileDurably } from '../durable-files.ts';
import { StartRefused } from './start-refused.ts';

export const LOCK_FILE = 'secretd.lock';
export const PID_FILE = 'secretd.pid';

export class DataRootBusy extends StartRefused {}

/** Locks `dataRoot` or throws DataRootBusy; the returned function releases it. */
export function lockDataRoot(dataRoot: string): () => void {
  const file = join(dataRoot, LOCK_FILE);
  if (lstatSync(file, { throwIfNoEntry: false })?.isSymbolicLink()) throw new SymlinkRefused(file);
  closeSync(openOwnFile(file, constants.O_CREAT | constants.O_RDWR, 0o600)); // created 0600, never through a link
  const db = new Database(file, { timeout: 0 });
  try {
    db.pragma('journal_mode = MEMORY'); // nothing is ever written: no journal file to leave behind
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE');
  } catch (e) {
    db.close();
    if ((e as { code?: string }).code !== 'SQLITE_BUSY') throw e;
    const pid = Number.parseInt(readText(join(dataRoot, PID_FILE)), 10);
    const who = Number.isInteger(pid) && pid > 0 ? `another secretd (pid ${pid})` : 'another secretd';
    throw new DataRootBusy(`${who} is using the data root ${dataRoot} (it holds ${file} locked); stop it first, or use another --data-root`);
  }
  held.add(db);
  const pidFile = join(dataRoot, PID_FILE);
  try {
    writeFileDurably(pidFile, `${process.pid}\n`, 0o644);
  } catch (e) {
    release(db);
    throw e;
  }
  return () => {
    try {
      if (Number.parseInt(readText(pidFile), 10) === process.pid) unlinkSync(pidFile);
    } catch {
      // already gone
    }
    release(db);
  };
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
