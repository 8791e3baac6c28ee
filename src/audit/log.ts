/**
 * The audit log writer: one JSON line per event, chained (src/audit/chain.ts), appended to a
 * 0600 file. Group commit, as the store does: the events of one turn of the event loop are
 * written together and fdatasync'd once, and each `record` resolves only when its line is on
 * disk. A start continues the chain from the last line; a torn last line (a crash during a
 * write) is kept and marked, and a log shorter than its head file says is recorded as cut.
 * Every line carries the store's checkpoint (`store`: its identity and commit count), so the
 * last line tells the next start what the store had acknowledged (src/store/acknowledged.ts).
 */
import { closeSync, constants, mkdirSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { rfc3339Nano } from '../core/clock.ts';
import { SecretdError } from '../core/errors.ts';
import { fsyncFolderOf, openOwnFile, SymlinkRefused } from '../durable-files.ts';
import { formatHead, formatRecord, GENESIS, lineHash, parseHead, parseRecord, type Head } from './chain.ts';
import { parseCheckpoint, type StoreCheckpoint } from '../store/acknowledged.ts';
import type { AuditEvent } from './events.ts';

/** Raised for every event once a write failed: nothing is answered as done without its line. */
export class AuditUnavailable extends SecretdError {
  constructor(file: string, cause: unknown) {
    super('unavailable', `the audit log ${file} cannot be written (${(cause as NodeJS.ErrnoException)?.code ?? 'error'}); the daemon needs a restart`, {
      cause,
    });
  }
}

const { O_APPEND, O_CREAT, O_EXCL, O_NOFOLLOW, O_RDWR, O_WRONLY } = constants;

/** How far back start-up reads to find the last line (lines are a few hundred bytes). */
const TAIL_BYTES = 64 * 1024;

interface Pending {
  seq: number;
  line: string;
  resolve: () => void;
  reject: (e: unknown) => void;
}

export class AuditLog {
  private pending: Pending[] = [];
  private flushing: Promise<void> | undefined;
  private failed: AuditUnavailable | undefined;
  private closed = false;
  /** Where each line's `store` checkpoint comes from; until set, the last one read is carried on. */
  private stampSource: (() => StoreCheckpoint | undefined) | undefined;
  private stamp: StoreCheckpoint | undefined;
  /** The store checkpoint of the last line found at open: a witness (src/store/acknowledged.ts). */
  storeWitness: StoreCheckpoint | undefined;

  readonly file: string;
  private readonly fh: FileHandle;
  private readonly headFh: FileHandle;
  private seq: number;
  private lastHash: string;
  private constructor(file: string, fh: FileHandle, headFh: FileHandle, seq: number, lastHash: string, stamp: StoreCheckpoint | undefined) {
    this.file = file;
    this.fh = fh;
    this.headFh = headFh;
    this.seq = seq;
    this.lastHash = lastHash;
    this.stamp = stamp;
  }

  /** From now on every line carries the store's checkpoint as `source` returns it. */
  stampFrom(source: () => StoreCheckpoint | undefined): void {
    this.stampSource = source;
  }

  /** Opens (or creates, 0600) `file` and its head file `file.head`; `warn` hears about repairs. */
  static async open(file: string, warn: (message: string) => void = () => {}): Promise<AuditLog> {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const created = createIfMissing(file);
    const fh = await openOwn(file, O_APPEND | O_CREAT | O_RDWR);
    let headFh: FileHandle | undefined;
    try {
      await fh.chmod(0o600);
      createIfMissing(`${file}.head`);
      headFh = await openOwn(`${file}.head`, O_RDWR);
      await headFh.chmod(0o600);
      const head = parseHead((await headFh.readFile('utf8')).trim());
      const tail = await readTail(fh);
      const log = new AuditLog(file, fh, headFh, tail.seq, tail.hash, tail.store);
      if (created) fsyncFolderOf(file);
      const torn = tail.unfinished !== undefined && !(await log.adoptUnfinished(tail.unfinished));
      log.storeWitness = log.stamp;
      if (head && head.seq > log.seq) {
        warn(`audit log ${file} ends at seq ${log.seq} but ${file}.head records seq ${head.seq}: lines were removed from its end`);
        await log.record({ who: { transport: 'daemon' }, action: 'audit.truncated', result: 'ok', head });
      }
      if (torn) {
        warn(`audit log ${file}: its last line was torn by a crash (${tail.unfinished!.length} bytes); kept and marked`);
        await log.record({
          who: { transport: 'daemon' },
          action: 'audit.torn',
          result: 'ok',
          torn: { bytes: tail.unfinished!.length, sha256: lineHash(tail.unfinished!) },
        });
      }
      return log;
    } catch (e) {
      await headFh?.close();
      await fh.close();
      throw e;
    }
  }

  /** The seq and hash of the last line queued. */
  get head(): Head {
    return { seq: this.seq, hash: this.lastHash };
  }

  /** Appends the event; resolves once its line is on disk. */
  record(event: AuditEvent): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.closed) return Promise.reject(new AuditUnavailable(this.file, Object.assign(new Error('closed'), { code: 'closed' })));
    const seq = ++this.seq;
    this.stamp = this.stampSource?.() ?? this.stamp;
    const line = formatRecord(seq, rfc3339Nano(), this.stamp ? { ...event, store: this.stamp } : event, this.lastHash);
    this.lastHash = lineHash(line);
    return new Promise<void>((resolve, reject) => {
      if (this.pending.push({ seq, line, resolve, reject }) === 1 && !this.flushing) setImmediate(() => void this.flush());
    });
  }

  /** Waits for queued lines, then closes the files. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.flushing || this.pending.length > 0) await this.flush();
    await this.headFh.close();
    await this.fh.close();
  }

  /**
   * Writes everything queued in one append and one fdatasync, then rewrites the head file; lines
   * queued meanwhile go in the next batch. The fdatasync runs off the event loop, so the store's
   * own commit of the next batch overlaps with it.
   */
  private flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    if (this.pending.length === 0) return Promise.resolve();
    const batch = this.pending;
    this.pending = [];
    const last = batch[batch.length - 1]!;
    const head = formatHead({ seq: last.seq, hash: lineHash(last.line) });
    const write = async () => {
      if (this.failed) throw this.failed;
      await writeAll(this.fh, Buffer.from(batch.map((p) => `${p.line}\n`).join('')));
      await this.fh.datasync();
      await this.headFh.write(head, 0, head.length, 0); // not synced: a stale head is still a true one
    };
    this.flushing = write()
      .then(
        () => {
          for (const p of batch) p.resolve();
        },
        (e: unknown) => {
          // Later lines would chain to lines that may not be there: refuse everything from now on.
          this.failed ??= e instanceof AuditUnavailable ? e : new AuditUnavailable(this.file, e);
          for (const p of batch) p.reject(this.failed);
        },
      )
      .finally(() => {
        this.flushing = undefined;
        if (this.pending.length > 0) void this.flush();
      });
    return this.flushing;
  }

  /**
   * The file does not end with a newline: end it. A whole, well-chained line is adopted (true);
   * anything else stays as it is, to be followed by an `audit.torn` record naming it (false).
   */
  private async adoptUnfinished(unfinished: Buffer): Promise<boolean> {
    const r = parseRecord(unfinished.toString('utf8'));
    await writeAll(this.fh, Buffer.from('\n'));
    await this.fh.datasync();
    if (!r || r.seq !== this.seq + 1 || r.prev !== this.lastHash) return false;
    this.seq = r.seq;
    this.stamp = parseCheckpoint(r.store) ?? this.stamp;
    this.lastHash = lineHash(unfinished);
    return true;
  }
}

/** The chain's state at the end of the file: last complete line's seq and hash, and any unfinished bytes. */
async function readTail(fh: FileHandle): Promise<{ seq: number; hash: string; store?: StoreCheckpoint; unfinished?: Buffer }> {
  const { size } = await fh.stat();
  if (size === 0) return { seq: 0, hash: GENESIS };
  let want = Math.min(size, TAIL_BYTES);
  for (;;) {
    const buf = Buffer.alloc(want);
    await fh.read(buf, 0, want, size - want);
    const lastNl = buf.lastIndexOf(0x0a);
    const unfinished = lastNl === buf.length - 1 ? undefined : buf.subarray(lastNl + 1);
    if (lastNl < 0) {
      if (want < size) {
        want = Math.min(size, want * 4);
        continue;
      }
      return { seq: 0, hash: GENESIS, unfinished: buf };
    }
    const start = buf.lastIndexOf(0x0a, lastNl - 1) + 1;
    if (start === 0 && want < size) {
      want = Math.min(size, want * 4);
      continue;
    }
    const line = buf.subarray(start, lastNl);
    const r = parseRecord(line.toString('utf8'));
    if (!r) throw new Error(`the audit log's last complete line is not an audit record: repair the file or move it away`);
    const store = parseCheckpoint(r.store);
    return { seq: r.seq, hash: lineHash(line), ...(store ? { store } : {}), ...(unfinished ? { unfinished: Buffer.from(unfinished) } : {}) };
  }
}

async function writeAll(fh: FileHandle, buf: Buffer): Promise<void> {
  let off = 0;
  while (off < buf.length) off += (await fh.write(buf, off, buf.length - off)).bytesWritten;
}

/** Opens one of the log's files, never through a symbolic link planted at its name. */
async function openOwn(file: string, flags: number): Promise<FileHandle> {
  try {
    return await open(file, flags | O_NOFOLLOW, 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ELOOP') throw new SymlinkRefused(file);
    throw e;
  }
}

/** True when this call created the file (so its directory entry still needs an fsync). */
function createIfMissing(file: string): boolean {
  try {
    closeSync(openOwnFile(file, O_CREAT | O_EXCL | O_WRONLY)); // O_EXCL: a link at the name fails too
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
}
