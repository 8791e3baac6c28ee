/**
 * Damage is detected, not absorbed: at start, what the SQLite store holds is compared with what
 * was acknowledged, cheaply (no scan of the audit log or of the secrets).
 *
 * The store counts its committed write transactions (`commits` in its meta table, bumped in the
 * same transaction as the writes) and has a random identity (`store_id`). Two witnesses record
 * that pair after the fact, each at most as new as what is on disk, never newer:
 *
 *  - the checkpoint file `DATA_ROOT/secretd.db.checkpoint`, rewritten in place (one pwrite of a
 *    fixed-length line, not synced) after every commit and before any of its writes is answered,
 *    so it works with --no-audit too; a crash of the machine may leave it older, never ahead;
 *  - the audit log: every line carries the pair as `store` (src/audit/log.ts), and its last line
 *    is read at start anyway. It is fsynced, and it may live outside the data root.
 *
 * A store that is missing, is another database (a new identity: deleted and recreated, or
 * copied from elsewhere), or holds fewer commits than a witness (a truncated WAL, an older copy
 * restored) refuses the start, naming what is missing. `--accept-store-loss` starts anyway with
 * what the store holds: the audit log then records `store.loss_accepted`, and the witnesses
 * follow the store from there.
 */
import { closeSync, constants, fstatSync, readSync, writeSync } from 'node:fs';
import { openOwnFile } from '../durable-files.ts';
import { StartRefused } from '../core/errors.ts';

/** Which database, and how many write transactions it had committed. */
export interface StoreCheckpoint {
  id: string;
  commits: number;
}

/** A record of a checkpoint the store reached, and where it was read. */
export interface Witness {
  /** The file it was read from, for the message. */
  source: string;
  checkpoint: StoreCheckpoint;
}

/** The store holds less than was acknowledged, or is not the database that was. */
export class StoreDamaged extends StartRefused {}

export const CHECKPOINT_SUFFIX = '.checkpoint';
const LINE = 128;

export function parseCheckpoint(value: unknown): StoreCheckpoint | undefined {
  const c = value as Partial<StoreCheckpoint> | null;
  if (typeof c !== 'object' || c === null) return undefined;
  return typeof c.id === 'string' && /^[0-9a-f]{32}$/.test(c.id) && Number.isSafeInteger(c.commits) && c.commits! >= 0
    ? { id: c.id, commits: c.commits! }
    : undefined;
}

/** The checkpoint file beside the database: read at start, then rewritten after every commit. */
export class CheckpointFile {
  readonly file: string;
  private readonly fd: number;
  private constructor(file: string, fd: number) {
    this.file = file;
    this.fd = fd;
  }

  /** What the file records, if it exists and holds a checkpoint. */
  static read(file: string): Witness | undefined {
    let fd: number;
    try {
      fd = openOwnFile(file, constants.O_RDONLY);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    try {
      const buf = Buffer.alloc(Math.min(fstatSync(fd).size, LINE));
      readSync(fd, buf, 0, buf.length, 0);
      let parsed: unknown;
      try {
        parsed = JSON.parse(buf.toString('utf8'));
      } catch {
        return undefined; // torn or emptied: no witness (the audit log may still be one)
      }
      const checkpoint = parseCheckpoint(parsed);
      return checkpoint && { source: file, checkpoint };
    } finally {
      closeSync(fd);
    }
  }

  /** Opens (or creates, 0600) the file for `write`; never through a symbolic link. */
  static open(file: string): CheckpointFile {
    return new CheckpointFile(file, openOwnFile(file, constants.O_CREAT | constants.O_RDWR, 0o600));
  }

  /** One fixed-length pwrite at offset 0: no old bytes are left behind, and no fsync is needed. */
  write(checkpoint: StoreCheckpoint): void {
    const line = Buffer.from(`${JSON.stringify(checkpoint).padEnd(LINE - 1)}\n`);
    writeSync(this.fd, line, 0, line.length, 0);
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** The witnesses of the store `storeFile`: its checkpoint file, and the audit log's last line. */
export function witnessesOf(storeFile: string, audit?: { file: string; storeWitness: StoreCheckpoint | undefined }): Witness[] {
  const out: Witness[] = [];
  const file = CheckpointFile.read(storeFile + CHECKPOINT_SUFFIX);
  if (file) out.push({ source: `the checkpoint file ${file.source}`, checkpoint: file.checkpoint });
  if (audit?.storeWitness) out.push({ source: `the audit log ${audit.file}`, checkpoint: audit.storeWitness });
  return out;
}

/**
 * What a witness recorded that `found` lacks (undefined: the database file is missing;
 * 'unknown': not read yet), from the witness that says the most; undefined when nothing is.
 */
export function damageOf(
  storeFile: string,
  found: StoreCheckpoint | 'unknown' | undefined,
  witnesses: readonly Witness[],
): { refusal: StoreDamaged; acknowledged: StoreCheckpoint } | undefined {
  if (found === 'unknown') return undefined; // judged once the store is open
  const override = `restore ${storeFile} (with its -wal file) from a backup, or start with --accept-store-loss to continue with what it holds`;
  for (const w of [...witnesses].sort((a, b) => b.checkpoint.commits - a.checkpoint.commits)) {
    const { id, commits } = w.checkpoint;
    const refuse = (message: string) => ({ refusal: new StoreDamaged(`${message}: ${override}`), acknowledged: w.checkpoint });
    if (commits === 0) continue; // nothing was acknowledged
    if (!found) return refuse(`the store ${storeFile} is missing, but ${w.source} records ${commits} commits of acknowledged writes to it`);
    if (id !== found.id) {
      return refuse(
        `the store ${storeFile} is not the database ${w.source} records ` +
          `(it was deleted and recreated, or replaced by another copy; ${commits} commits of acknowledged writes are not in it)`,
      );
    }
    if (found.commits < commits) {
      const missing = commits - found.commits;
      return refuse(
        `the store ${storeFile} holds ${found.commits} commits, but ${w.source} records ${commits}: ` +
          `the last ${missing} ${missing === 1 ? 'commit' : 'commits'} of acknowledged writes ${missing === 1 ? 'is' : 'are'} missing ` +
          '(a truncated or lost WAL, or an older copy restored?)',
      );
    }
  }
  return undefined;
}
