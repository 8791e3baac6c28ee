/**
 * secretd's volumes: what each is (its files, owner, mode — never a value) and which mounts use
 * it, kept in DATA_ROOT/plugin-volumes.json; each mounted volume is a tmpfs on
 * DATA_ROOT/volumes/NAME. The first Mount resolves every value (all or nothing), mounts the
 * tmpfs, writes the files and remounts it read-only, all before it answers; the last Unmount (or
 * Remove) unmounts it.
 *
 * A restart keeps what is mounted: the tmpfs outlives the process, so running containers keep
 * their files, and the new process adopts every tmpfs the state file lists mounts for (and
 * unmounts any other it finds, e.g. one a kill interrupted half-way). Values are not resolved
 * again at a restart. After a reboot the tmpfs is gone: its mounts are forgotten and the next
 * Mount fills it afresh.
 *
 * Mounted files follow rotations: `check` compares each unpinned file's secret (its ID and
 * current value version, never a value) with what was written, and a refresh writes the new
 * value beside the old in the same tmpfs and renames it over, so a reader opens either the
 * whole old file or the whole new one. The tmpfs is writable only during that, in the same
 * queue as Mount and Unmount. A pinned file (`version=N`) never changes.
 */
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmdirSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { writeFileDurably } from '../durable-files.ts';
import { rfc3339Nano } from '../core/clock.ts';
import { isTmpfsMounted, mountTmpfs, remountReadOnly, remountWritable, tmpfsMounts, tmpfsReadOnly, unmount } from './tmpfs.ts';
import type { VolumeFile, VolumeOptions } from './volume-options.ts';

export interface VolumeRecord {
  name: string;
  createdAt: string;
  options: VolumeOptions;
  /** The IDs dockerd mounted it for (one per container using it), in order. */
  mounts: string[];
  /** While mounted: what each file (by file name) holds now. Absent in state files of older versions. */
  written?: Record<string, Written>;
}

/** Which value a file holds: its secret's ID and value version (none for a driver's value). Never a value. */
export interface Written {
  id: string;
  version?: number;
}

/** One file's bytes, resolved for a Mount or a refresh. */
export interface FileValue {
  file: string;
  value: Uint8Array;
  written: Written;
}

/** Resolves every file given; throws (nothing is written) if any fails. */
export type ResolveFiles = (volume: string, files: VolumeFile[]) => Promise<FileValue[]>;

/** The current value of each named secret, as `Written` would say it; a name missing or out of scope is left out. */
export type CurrentValues = (names: string[]) => Promise<Map<string, Written>>;

export interface VolumeLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

/** Most secret names one periodic check looks up; the next check goes on from there. */
const CHECK_BATCH = 256;

/** A refusal dockerd shows to the user as the call's `Err`. */
export class VolumeError extends Error {}

/** dockerd's volume name rule (plus one-character names), and a bound for paths. */
const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,254}$/;
/** Most volumes one daemon keeps. */
export const MAX_VOLUMES = 1024;
/** Most mount IDs one volume keeps (dockerd sends one per container start). */
const MAX_MOUNTS = 4096;

export class Volumes {
  private readonly records = new Map<string, VolumeRecord>();
  /** Every change runs after the one before: state file and mounts move together. */
  private queue: Promise<unknown> = Promise.resolve();

  /** Where the next periodic check starts, in the sorted list of followed secret names. */
  private cursor = 0;
  private checking = false;
  private stopped = false;
  /** Checks in flight, which `stop` waits for. */
  private readonly running = new Set<Promise<void>>();
  /** The last refresh failure logged per volume: a failure that repeats at every check is logged once. */
  private readonly failures = new Map<string, string>();
  private readonly stateFile: string;
  private readonly mountRoot: string;
  private readonly resolveFiles: ResolveFiles;
  private readonly currentValues: CurrentValues;
  private readonly log: VolumeLog;

  private constructor(stateFile: string, mountRoot: string, resolveFiles: ResolveFiles, currentValues: CurrentValues, log: VolumeLog) {
    this.stateFile = stateFile;
    this.mountRoot = mountRoot;
    this.resolveFiles = resolveFiles;
    this.currentValues = currentValues;
    this.log = log;
  }

  /** Loads the state and reconciles it with what is mounted (see the module header). */
  static async open(dataRoot: string, resolveFiles: ResolveFiles, currentValues: CurrentValues, log: VolumeLog): Promise<Volumes> {
    const v = new Volumes(join(dataRoot, 'plugin-volumes.json'), join(dataRoot, 'volumes'), resolveFiles, currentValues, log);
    const warn = (fields: object, message: string) => log.warn(fields, message);
    mkdirSync(v.mountRoot, { recursive: true, mode: 0o700 });
    if (existsSync(v.stateFile)) {
      const saved = JSON.parse(readFileSync(v.stateFile, 'utf8')) as { volumes: VolumeRecord[] };
      for (const r of saved.volumes) v.records.set(r.name, r);
    }
    for (const r of v.records.values()) {
      if (r.mounts.length > 0 && !isTmpfsMounted(v.dir(r.name))) {
        warn({ volume: r.name, mounts: r.mounts.length }, 'volume tmpfs gone since the last run (reboot?): its mounts are forgotten');
        r.mounts = [];
      }
      if (r.mounts.length === 0) delete r.written;
      // A kill during a refresh leaves the tmpfs writable (and the file not yet recorded as written, so the next check writes it again).
      else if (tmpfsReadOnly(v.dir(r.name)) === false) await v.readOnlyAgain(r.name);
    }
    for (const entry of readdirSync(v.mountRoot)) {
      const r = v.records.get(entry);
      if (r && r.mounts.length > 0) continue;
      const dir = join(v.mountRoot, entry);
      try {
        if (isTmpfsMounted(dir)) {
          warn({ volume: entry }, 'unmounting a volume tmpfs no mount uses');
          await unmount(dir);
        }
        rmdirSync(dir);
      } catch (e) {
        // Left for an administrator: a busy or non-empty folder stops nothing else.
        warn({ volume: entry, err: (e as Error).message }, 'could not clear a stale volume folder');
      }
    }
    v.save();
    return v;
  }

  /** Creates `name`; creating it again with the same options is a no-op (dockerd may ask twice). */
  create(name: string, options: VolumeOptions): Promise<void> {
    return this.serial(async () => {
      checkName(name);
      const existing = this.records.get(name);
      if (existing) {
        if (JSON.stringify(existing.options) !== JSON.stringify(options)) throw new VolumeError(`volume ${name} already exists with other options`);
        return;
      }
      if (this.records.size >= MAX_VOLUMES) throw new VolumeError(`secretd keeps at most ${MAX_VOLUMES} volumes: remove one first`);
      this.records.set(name, { name, createdAt: rfc3339Nano(), options, mounts: [] });
      this.save();
    });
  }

  /** Removes `name`; an unknown name is already removed (e.g. after the data root was replaced). */
  remove(name: string): Promise<void> {
    return this.serial(async () => {
      const r = this.records.get(name);
      if (!r) return;
      if (r.mounts.length > 0) throw new VolumeError(`volume ${name} is in use by ${r.mounts.length} mount(s)`);
      await this.release(r);
      this.records.delete(name);
      this.save();
    });
  }

  /** The host folder for mount `id`; the first mount fills the tmpfs before this resolves. */
  mount(name: string, id: string): Promise<string> {
    return this.serial(async () => {
      const r = this.require(name);
      const dir = this.dir(name);
      if (r.mounts.length === 0 && !isTmpfsMounted(dir)) await this.fill(r, dir);
      if (!r.mounts.includes(id)) {
        if (r.mounts.length >= MAX_MOUNTS) throw new VolumeError(`volume ${name} has ${MAX_MOUNTS} mounts already`);
        r.mounts.push(id);
      }
      this.save();
      return dir;
    });
  }

  /** Forgets mount `id`; the last one unmounts the tmpfs. An unknown ID changes nothing. */
  unmount(name: string, id: string): Promise<void> {
    return this.serial(async () => {
      const r = this.require(name);
      r.mounts = r.mounts.filter((m) => m !== id);
      if (r.mounts.length === 0) {
        await this.release(r);
        delete r.written;
      }
      this.save();
    });
  }

  /** The host folder while mounted, else ''. */
  path(name: string): string {
    this.require(name);
    return isTmpfsMounted(this.dir(name)) ? this.dir(name) : '';
  }

  get(name: string): VolumeRecord {
    return this.require(name);
  }

  list(): VolumeRecord[] {
    return [...this.records.values()];
  }

  /**
   * Brings mounted files up to their secrets' current values: those of secret `name` (a rotate or
   * rollback on this daemon), or, with no name, up to CHECK_BATCH followed secret names from
   * where the last periodic check stopped (a change through another daemon on a shared store).
   * A periodic check while one runs does nothing. Never throws: failures are logged.
   */
  check(name?: string): Promise<void> {
    if (this.stopped || (name === undefined && this.checking)) return Promise.resolve();
    if (name === undefined) this.checking = true;
    const run = this.checkNow(name)
      .then(() => void this.failures.delete(''))
      .catch((e) => this.failed('', 'volume refresh check failed', e))
      .finally(() => {
        if (name === undefined) this.checking = false;
        this.running.delete(run);
      });
    this.running.add(run);
    return run;
  }

  /** No check starts from now on; resolves once those running and every queued change are done. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.running]);
    await this.queue;
  }

  private async checkNow(name: string | undefined): Promise<void> {
    const names = name === undefined ? this.nextBatch() : this.followed().includes(name) ? [name] : [];
    if (names.length === 0) return;
    const current = await this.currentValues(names);
    const due: string[] = [];
    const tmpfs = tmpfsMounts();
    for (const r of this.records.values()) {
      if (r.mounts.length === 0) continue;
      // A refresh that could not make the tmpfs read-only again is retried here.
      if (name === undefined && tmpfs.get(this.dir(r.name)) === false) await this.serial(() => this.readOnlyAgain(r.name));
      if (this.stale(r, current).length > 0) due.push(r.name);
    }
    await Promise.all(due.map((volume) => this.serial(() => this.refresh(volume))));
  }

  /** Every secret name an unpinned file of a mounted volume follows, sorted, once each. */
  private followed(): string[] {
    const names = new Set<string>();
    for (const r of this.records.values()) {
      if (r.mounts.length > 0) for (const f of r.options.files) if (f.version === undefined) names.add(f.secret);
    }
    return [...names].sort();
  }

  private nextBatch(): string[] {
    const names = this.followed();
    if (names.length <= CHECK_BATCH) return names;
    if (this.cursor >= names.length) this.cursor = 0;
    const batch = names.slice(this.cursor, this.cursor + CHECK_BATCH);
    this.cursor += CHECK_BATCH;
    return batch;
  }

  /** The unpinned files of `r` whose secret's current value is not what they hold. */
  private stale(r: VolumeRecord, current: Map<string, Written>): VolumeFile[] {
    return r.options.files.filter((f) => {
      const now = f.version === undefined ? current.get(f.secret) : undefined;
      const was = r.written?.[f.file];
      return now !== undefined && (was === undefined || was.id !== now.id || was.version !== now.version);
    });
  }

  /** In the queue: the stale files of volume `name` get their current values, each renamed into place. */
  private async refresh(name: string): Promise<void> {
    const r = this.records.get(name);
    const dir = this.dir(name);
    if (!r || r.mounts.length === 0 || !isTmpfsMounted(dir)) return;
    // Looked at again: a check queued behind another may find nothing left to do.
    const stale = this.stale(r, await this.currentValues([...new Set(r.options.files.map((f) => f.secret))]));
    if (stale.length === 0) return;
    let values: FileValue[] = [];
    try {
      values = await this.resolveFiles(r.name, stale);
      await this.rewrite(r, dir, values);
      r.written = { ...r.written };
      for (const v of values) r.written[v.file] = v.written;
      this.save();
      this.failures.delete(name);
      this.log.info({ volume: name, files: values.map((v) => v.file), versions: values.map((v) => v.written.version ?? null) }, 'volume files refreshed');
    } catch (e) {
      this.failed(name, 'volume refresh failed: its files keep the values they had', e);
    } finally {
      for (const v of values) v.value.fill(0);
    }
  }

  /**
   * Writable (sized for the old and new values side by side), each value to a temporary file
   * renamed over its file, anything else in the tmpfs removed (a container could have added
   * a file meanwhile), then read-only again, whatever happened.
   */
  private async rewrite(r: VolumeRecord, dir: string, values: FileValue[]): Promise<void> {
    const names = new Set(r.options.files.map((f) => f.file));
    let bytes = Math.max(0, ...values.map((v) => v.value.length));
    for (const f of r.options.files) {
      const next = values.find((v) => v.file === f.file)?.value.length ?? 0;
      bytes += Math.max(next, statSync(join(dir, f.file), { throwIfNoEntry: false })?.size ?? 0);
    }
    await remountWritable(dir, bytes, names.size + 1);
    try {
      let temp: string;
      do temp = `.secretd-${randomBytes(6).toString('hex')}`;
      while (names.has(temp));
      for (const v of values) {
        writeFile(join(dir, temp), v.value, r.options);
        renameSync(join(dir, temp), join(dir, v.file));
      }
      for (const entry of readdirSync(dir)) if (!names.has(entry)) rmSync(join(dir, entry), { recursive: true, force: true });
    } finally {
      // The files are in place either way; a tmpfs left writable is retried at the next check
      // (readOnlyAgain), so this is no reason to write, and deliver, the same values again.
      await remountReadOnly(dir).catch((e) => this.failed(r.name, 'volume tmpfs could not be made read-only again after a refresh', e));
    }
  }

  /** A tmpfs found writable outside a refresh is made read-only; logged when that fails. */
  private async readOnlyAgain(name: string): Promise<void> {
    const dir = this.dir(name);
    if (tmpfsReadOnly(dir) !== false) return;
    try {
      await remountReadOnly(dir);
    } catch (e) {
      this.failed(name, 'volume tmpfs could not be made read-only again', e);
    }
  }

  /** Logs a failure unless it is the one last logged for `volume` ('' for the check itself). */
  private failed(volume: string, what: string, e: unknown): void {
    const err = (e as Error)?.message ?? String(e);
    if (this.failures.get(volume) === `${what}: ${err}`) return;
    this.failures.set(volume, `${what}: ${err}`);
    this.log.warn(volume ? { volume, err } : { err }, what);
  }

  private dir(name: string): string {
    return join(this.mountRoot, name);
  }

  private require(name: string): VolumeRecord {
    const r = this.records.get(name);
    if (!r) throw new VolumeError(`no such volume: ${name}`);
    return r;
  }

  /** Every value first; then the tmpfs, the files, read-only. Any failure leaves nothing mounted. */
  private async fill(r: VolumeRecord, dir: string): Promise<void> {
    const values = await this.resolveFiles(r.name, r.options.files);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    let mounted = false;
    try {
      await mountTmpfs(
        dir,
        values.reduce((n, v) => n + v.value.length, 0),
        values.length,
      );
      mounted = true;
      for (const v of values) writeFile(join(dir, v.file), v.value, r.options);
      await remountReadOnly(dir);
      r.written = Object.fromEntries(values.map((v) => [v.file, v.written]));
    } catch (e) {
      if (mounted) await unmount(dir).catch(() => {});
      rmdirSync(dir);
      throw e;
    } finally {
      for (const v of values) v.value.fill(0);
    }
  }

  private async release(r: VolumeRecord): Promise<void> {
    const dir = this.dir(r.name);
    if (isTmpfsMounted(dir)) await unmount(dir);
    if (existsSync(dir)) rmdirSync(dir);
  }

  private save(): void {
    writeFileDurably(this.stateFile, `${JSON.stringify({ volumes: [...this.records.values()] })}\n`, 0o600);
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => {});
    return next;
  }
}

function checkName(name: string): void {
  if (!VOLUME_NAME.test(name)) throw new VolumeError(`invalid volume name ${JSON.stringify(name)}: use [a-zA-Z0-9][a-zA-Z0-9_.-]*`);
}

/** The file with exactly the owner and mode asked (no umask in the way). */
function writeFile(path: string, value: Uint8Array, o: VolumeOptions): void {
  const fd = openSync(path, 'wx', 0o600);
  try {
    writeSync(fd, value);
  } finally {
    closeSync(fd);
  }
  chownSync(path, o.uid, o.gid);
  chmodSync(path, o.mode);
}
