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
 */
import { chmodSync, chownSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmdirSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileDurably } from '../durable-files.ts';
import { rfc3339Nano } from '../core/clock.ts';
import { isTmpfsMounted, mountTmpfs, remountReadOnly, unmount } from './tmpfs.ts';
import type { VolumeFile, VolumeOptions } from './volume-options.ts';

export interface VolumeRecord {
  name: string;
  createdAt: string;
  options: VolumeOptions;
  /** The IDs dockerd mounted it for (one per container using it), in order. */
  mounts: string[];
}

/** One file's bytes, resolved for a Mount. */
export interface FileValue {
  file: string;
  value: Uint8Array;
}

/** Resolves every file of a volume for its first Mount; throws (nothing is mounted) if any fails. */
export type ResolveFiles = (volume: string, files: VolumeFile[]) => Promise<FileValue[]>;

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

  private constructor(
    private readonly stateFile: string,
    private readonly mountRoot: string,
    private readonly resolveFiles: ResolveFiles,
  ) {}

  /** Loads the state and reconciles it with what is mounted (see the module header). */
  static async open(dataRoot: string, resolveFiles: ResolveFiles, warn: (fields: object, message: string) => void): Promise<Volumes> {
    const v = new Volumes(join(dataRoot, 'plugin-volumes.json'), join(dataRoot, 'volumes'), resolveFiles);
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
      if (r.mounts.length === 0) await this.release(r);
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
      await mountTmpfs(dir, values.reduce((n, v) => n + v.value.length, 0), values.length);
      mounted = true;
      for (const v of values) writeFile(join(dir, v.file), v.value, r.options);
      await remountReadOnly(dir);
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
