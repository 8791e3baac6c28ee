/**
 * The options of a secretd volume (`--mount …,volume-opt=KEY=VALUE`, compose `driver_opts`):
 * `secret` lists `NAME[:FILE]` entries separated by commas (as `secretd materialize` takes them),
 * `uid`, `gid` and `mode` set each file's owner and mode (Swarm's defaults: 0, 0, 0444), and
 * `version=N` pins value version N of the volume's one secret (version numbers are a secret's
 * own: a volume that pins holds that secret only). Unpinned files follow rotations.
 */
import { parseVersionPin, PIN_HINT } from '../delivery/version-pin.ts';

export interface VolumeFile {
  /** The secretd secret's name. */
  secret: string;
  /** The file name inside the volume. */
  file: string;
  /** A pinned value version: this file never changes. Absent: the current version, refreshed. */
  version?: number;
}

export interface VolumeOptions {
  files: VolumeFile[];
  uid: number;
  gid: number;
  mode: number;
}

export class VolumeOptionError extends Error {}

/** A file name Swarm would accept as a secret target inside the folder: no path, no dot names. */
const FILE_NAME = /^(?!\.{1,2}$)[^/\0]{1,255}$/;
/** The characters of secret names (the store's rule), so a bad entry is named before any lookup. */
const SECRET_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/;
/** Most files one volume holds: each is a value resolved at every first Mount. */
export const MAX_FILES = 64;
const KNOWN = new Set(['secret', 'uid', 'gid', 'mode', 'version']);

export function parseVolumeOptions(opts: Record<string, string> | null | undefined): VolumeOptions {
  const o = opts ?? {};
  for (const key of Object.keys(o)) {
    if (!KNOWN.has(key)) throw new VolumeOptionError(`unknown volume option ${JSON.stringify(key)}: secretd takes secret, uid, gid, mode and version`);
  }
  const list = o.secret;
  if (list === undefined || list.trim() === '') {
    throw new VolumeOptionError('a secretd volume needs the option secret=NAME[:FILE],… (e.g. volume-opt=secret=app.db_password:db.txt)');
  }
  const entries = list.split(',');
  if (entries.length > MAX_FILES) throw new VolumeOptionError(`a secretd volume holds at most ${MAX_FILES} secrets (got ${entries.length})`);
  const files = entries.map((raw): VolumeFile => {
    const entry = raw.trim();
    const colon = entry.indexOf(':');
    const secret = colon < 0 ? entry : entry.slice(0, colon);
    const file = colon < 0 ? entry : entry.slice(colon + 1);
    if (!SECRET_NAME.test(secret) || !FILE_NAME.test(file)) {
      throw new VolumeOptionError(`secret=${JSON.stringify(entry)}: use NAME or NAME:FILE, where FILE is a plain file name`);
    }
    return { secret, file };
  });
  if (new Set(files.map((f) => f.file)).size !== files.length) throw new VolumeOptionError('two secrets would be written to the same file');
  if (o.version !== undefined) {
    const version = parseVersionPin(o.version);
    if (version === undefined) throw new VolumeOptionError(`version=${JSON.stringify(o.version)}: ${PIN_HINT}`);
    if (files.length !== 1)
      throw new VolumeOptionError(`version=${o.version} pins one secret, and this volume holds ${files.length}: give the pinned secret a volume of its own`);
    files[0]!.version = version;
  }
  return { files, uid: id(o.uid, 'uid'), gid: id(o.gid, 'gid'), mode: mode(o.mode) };
}

function id(text: string | undefined, what: string): number {
  if (text === undefined) return 0;
  if (!/^\d{1,10}$/.test(text) || Number(text) > 0xfffffffe) throw new VolumeOptionError(`${what}=${JSON.stringify(text)}: use a number from 0 to 4294967294`);
  return Number(text);
}

/** Octal, as chmod and compose's `mode` take it: 0440 or 440; permission bits only. */
function mode(text: string | undefined): number {
  if (text === undefined) return 0o444;
  if (!/^0?[0-7]{3}$/.test(text)) throw new VolumeOptionError(`mode=${JSON.stringify(text)}: use an octal file mode such as 0440`);
  return Number.parseInt(text, 8);
}
