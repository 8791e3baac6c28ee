/**
 * The audit log writer: one JSON line per event, chained (src/audit/chain.ts), appended to a
 * 0600 file. A start continues the chain from the last line; a torn last line (a crash during a
 * write) is kept and marked, and a log shorter than its head file says is recorded as cut.
 * Every line carries the store's checkpoint (`store`: its identity and commit count), so the
 * last line tells the next start what the store had acknowledged (src/store/acknowledged.ts).
 *
 * Where a line is durable before `record` resolves:
 *  - With a store journal (SQLite, `begin(journal)`): in the store's own commit, so the change
 *    and its line share one WAL flush. The line is then written to the file (not flushed) before
 *    `record` resolves; the file is flushed in the background and only then are the journal's
 *    lines dropped, and a start copies into the file any line it lacks. A line the journal
 *    cannot take (the store is failing) is written and flushed here instead.
 *  - Without one (etcd): here, by group commit as the store does: the lines of one turn of the
 *    event loop are written together and fdatasync'd once.
 * Lines reach the file in seq order whichever way each became durable.
 */
import { closeSync, constants, mkdirSync, writeSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { rfc3339Nano } from '../core/clock.ts';
import { SecretdError } from '../core/errors.ts';
import { fsyncFolderOf, openOwnFile, SymlinkRefused } from '../durable-files.ts';
import { formatHead, formatRecord, GENESIS, lineHash, parseHead, parseRecord, type Head } from './chain.ts';
import { parseCheckpoint, type StoreCheckpoint } from '../store/acknowledged.ts';
import type { AuditJournal } from '../store/types.ts';
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

/** How long journaled lines may sit in the file unflushed (and in the journal) before a flush. */
const FILE_FLUSH_DELAY_MS = 200;

interface Pending {
  seq: number;
  line: string;
  /** Already durable in the store's journal: the file needs no flush before it is answered. */
  journaled: boolean;
  resolve: () => void;
  reject: (e: unknown) => void;
}

export class AuditLog {
  /** Lines waiting for the file, by seq: they are written strictly in order. */
  private pending = new Map<number, Pending>();
  /** The seq the file's next line must carry. */
  private nextInFile: number;
  private flushing: Promise<void> | undefined;
  private failed: AuditUnavailable | undefined;
  private closed = false;
  private journal: AuditJournal | undefined;
  /** Journal appends not settled yet (close waits for them). */
  private appending = new Set<Promise<void>>();
  /** The last journaled line written to the file. */
  private written = 0;
  private fileFlush: { timer: NodeJS.Timeout | undefined; running: Promise<void> | undefined } = { timer: undefined, running: undefined };
  /** What start-up found: an unfinished last line, and the head file, settled by `begin`. */
  private found: { unfinished: Buffer | undefined; head: Head | undefined; warn: (message: string) => void } | undefined;
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
    this.nextInFile = seq + 1;
    this.lastHash = lastHash;
    this.stamp = stamp;
  }

  /** From now on every line carries the store's checkpoint as `source` returns it. */
  stampFrom(source: () => StoreCheckpoint | undefined): void {
    this.stampSource = source;
  }

  /** Opens the log and begins it without a store journal: `prepare` then `begin()`. */
  static async open(file: string, warn: (message: string) => void = () => {}): Promise<AuditLog> {
    const log = await AuditLog.prepare(file, warn);
    try {
      await log.begin();
    } catch (e) {
      await log.close();
      throw e;
    }
    return log;
  }

  /**
   * Opens (or creates, 0600) `file` and its head file `file.head` and reads where the chain
   * ends, writing nothing to it yet: the store is judged against `storeWitness` before `begin`.
   */
  static async prepare(file: string, warn: (message: string) => void = () => {}): Promise<AuditLog> {
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
      log.found = { unfinished: tail.unfinished, head, warn };
      const adoptable = tail.unfinished && log.chained(tail.unfinished.toString('utf8'));
      log.storeWitness = (adoptable && parseCheckpoint(adoptable.store)) || log.stamp;
      return log;
    } catch (e) {
      await headFh?.close();
      await fh.close();
      throw e;
    }
  }

  /**
   * Settles what start-up found and starts recording: the file gets the lines of `journal` it
   * lacks (a crash came before it was flushed), an unfinished last line is completed from the
   * journal, adopted or marked torn, and a cut tail is recorded. From then on lines are
   * journaled when `journal` is given.
   */
  async begin(journal?: AuditJournal): Promise<void> {
    const found = this.found;
    if (!found) throw new Error('the audit log has begun already');
    this.found = undefined;
    let torn = false;
    const journaled = journal?.linesAfter(0) ?? [];
    const kept = journaled.filter((k) => k.seq > this.seq);
    let copy = kept;
    if (found.unfinished) {
      const first = kept[0];
      const whole = first && first.seq === this.seq + 1 ? Buffer.from(first.line) : undefined;
      if (whole && whole.length >= found.unfinished.length && whole.subarray(0, found.unfinished.length).equals(found.unfinished)) {
        // The crash cut a journaled line: complete it.
        await writeAll(this.fh, Buffer.concat([whole.subarray(found.unfinished.length), Buffer.from('\n')]));
        this.advanceTo(first!);
        copy = kept.slice(1);
      } else torn = !(await this.adoptUnfinished(found.unfinished));
    }
    for (const k of copy) {
      if (k.seq !== this.seq + 1) found.warn(`audit log ${this.file}: the store's journal holds seq ${k.seq} after seq ${this.seq}; copied as it is`);
      await writeAll(this.fh, Buffer.from(`${k.line}\n`));
      this.advanceTo(k);
    }
    this.nextInFile = this.seq + 1;
    if (kept.length > 0) {
      await this.fh.datasync();
      await this.headFh.write(formatHead(this.head), 0, 128, 0);
    }
    this.journal = journal;
    // Lines the file holds on disk leave the journal with the next file flush (not now: a commit
    // of its own here would move the store's checkpoint before a loss is recorded against it).
    if (journaled.length > 0) this.flushFileSoon(this.seq);
    if (found.head && found.head.seq > this.seq) {
      found.warn(`audit log ${this.file} ends at seq ${this.seq} but ${this.file}.head records seq ${found.head.seq}: lines were removed from its end`);
      await this.record({ who: { transport: 'daemon' }, action: 'audit.truncated', result: 'ok', head: found.head });
    }
    if (torn) {
      const bytes = found.unfinished!;
      found.warn(`audit log ${this.file}: its last line was torn by a crash (${bytes.length} bytes); kept and marked`);
      await this.record({ who: { transport: 'daemon' }, action: 'audit.torn', result: 'ok', torn: { bytes: bytes.length, sha256: lineHash(bytes) } });
    }
  }

  /** The seq and hash of the last line queued. */
  get head(): Head {
    return { seq: this.seq, hash: this.lastHash };
  }

  /**
   * Whether a line recorded after a store write is flushed in the same WAL as it, later: then
   * a caller that records before answering may have the write settle at its commit
   * (WriteOptions in src/store/types.ts). Not without a journal, nor once the log failed.
   */
  get linesFollowWrites(): boolean {
    return this.journal !== undefined && !this.failed;
  }

  /** Appends the event; resolves once its line is durable (module comment) and in the file. */
  record(event: AuditEvent): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.closed || this.found) {
      const why = this.closed ? 'closed' : 'not begun';
      return Promise.reject(new AuditUnavailable(this.file, Object.assign(new Error(why), { code: why })));
    }
    const seq = ++this.seq;
    this.stamp = this.stampSource?.() ?? this.stamp;
    const line = formatRecord(seq, rfc3339Nano(), this.stamp ? { ...event, store: this.stamp } : event, this.lastHash);
    this.lastHash = lineHash(line);
    // A refusal because the store is failing is not given to that store to keep.
    const journal = event.result === 'unavailable' ? undefined : this.journal;
    if (!journal) return this.toFile(seq, line, false);
    const appended = journal.append(seq, line).then(
      () => this.toFile(seq, line, true),
      // The store could not take it: flushed here instead, once the changes before it are flushed.
      () => Promise.all([this.toFile(seq, line, false), journal.flushed()]).then(() => {}),
    );
    this.appending.add(appended);
    return appended.finally(() => this.appending.delete(appended));
  }

  /** Waits for queued lines, flushes the file, then closes it. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.appending.size > 0) await Promise.allSettled([...this.appending]);
    while (this.flushing || this.pending.size > 0) {
      if (!(await this.flush())) break;
    }
    for (const p of this.pending.values()) p.reject(new AuditUnavailable(this.file, Object.assign(new Error('closed'), { code: 'closed' })));
    this.pending.clear();
    clearTimeout(this.fileFlush.timer);
    await this.fileFlush.running;
    if (this.journal && !this.failed) await this.flushFile().catch(() => {});
    await this.headFh.close();
    await this.fh.close();
  }

  private toFile(seq: number, line: string, journaled: boolean): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise<void>((resolve, reject) => {
      this.pending.set(seq, { seq, line, journaled, resolve, reject });
      if (seq === this.nextInFile && !this.flushing) setImmediate(() => void this.flush());
    });
  }

  /**
   * Writes the lines queued in seq order from the next one the file needs, in one append, then
   * one fdatasync unless every line is durable in the journal already, then rewrites the head
   * file; lines queued meanwhile go in the next batch. False when nothing could be written.
   */
  private flush(): Promise<boolean> {
    if (this.flushing) return this.flushing.then(() => true);
    const batch: Pending[] = [];
    for (let p = this.pending.get(this.nextInFile); p; p = this.pending.get(this.nextInFile)) {
      this.pending.delete(p.seq);
      batch.push(p);
      this.nextInFile++;
    }
    if (batch.length === 0) return Promise.resolve(false);
    const last = batch[batch.length - 1]!;
    const head = formatHead({ seq: last.seq, hash: lineHash(last.line) });
    const sync = batch.some((p) => !p.journaled);
    const bytes = Buffer.from(batch.map((p) => `${p.line}\n`).join(''));
    const write = async () => {
      if (this.failed) throw this.failed;
      // The lines go into the page cache at once, a few kilobytes: cheaper here than a round trip
      // to the thread pool, and a batch's answers wait for one such round trip only, its flush.
      writeAllSync(this.fh.fd, bytes);
      if (sync) await this.fh.datasync();
      writeSync(this.headFh.fd, head, 0, head.length, 0); // never synced: a stale head is still a true one
    };
    this.flushing = write()
      .then(
        () => {
          for (const p of batch) p.resolve();
          if (!sync) this.flushFileSoon(last.seq);
        },
        (e: unknown) => {
          // Later lines would chain to lines that may not be there: refuse everything from now on.
          this.failed ??= e instanceof AuditUnavailable ? e : new AuditUnavailable(this.file, e);
          for (const p of batch) p.reject(this.failed);
          for (const p of this.pending.values()) p.reject(this.failed);
          this.pending.clear();
        },
      )
      .finally(() => {
        this.flushing = undefined;
        if (this.pending.has(this.nextInFile)) void this.flush();
      });
    return this.flushing.then(() => true);
  }

  /** Journaled lines are in the file up to `seq`: flush it a little later, then drop them from the journal. */
  private flushFileSoon(seq: number): void {
    this.written = seq;
    if (this.fileFlush.timer || this.closed) return;
    this.fileFlush.timer = setTimeout(() => {
      this.fileFlush.timer = undefined;
      this.fileFlush.running = this.flushFile().finally(() => (this.fileFlush.running = undefined));
    }, FILE_FLUSH_DELAY_MS);
    this.fileFlush.timer.unref();
  }

  private async flushFile(): Promise<void> {
    const upTo = this.written;
    if (upTo === 0) return;
    try {
      await this.fh.datasync();
    } catch (e) {
      this.failed ??= new AuditUnavailable(this.file, e); // the journal keeps the lines for the next start
      return;
    }
    await this.journal?.trim(upTo).catch(() => {}); // kept a while longer: copied again at most, never lost
  }

  /** The chain continues with `k`, a line copied from the journal. */
  private advanceTo(k: { seq: number; line: string }): void {
    this.seq = k.seq;
    this.lastHash = lineHash(k.line);
    this.stamp = parseCheckpoint(parseRecord(k.line)?.store) ?? this.stamp;
  }

  /** The line parsed, if it continues the chain from the last line read. */
  private chained(text: string): ReturnType<typeof parseRecord> {
    const r = parseRecord(text);
    return r && r.seq === this.seq + 1 && r.prev === this.lastHash ? r : undefined;
  }

  /**
   * The file does not end with a newline: end it. A whole, well-chained line is adopted (true);
   * anything else stays as it is, to be followed by an `audit.torn` record naming it (false).
   */
  private async adoptUnfinished(unfinished: Buffer): Promise<boolean> {
    const r = this.chained(unfinished.toString('utf8'));
    await writeAll(this.fh, Buffer.from('\n'));
    await this.fh.datasync();
    if (!r) return false;
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

function writeAllSync(fd: number, buf: Buffer): void {
  let off = 0;
  while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
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
