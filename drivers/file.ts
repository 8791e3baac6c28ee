/**
 * The `file` secret driver: a secret's value is one regular file below a root directory that the
 * operator names at start (`--driver-opt file.root=DIR`). Lookups never leave that root: absolute
 * paths, `..` segments and symlinks that resolve outside it are refused, and only regular files
 * of 1 to 511999 bytes are read (a FIFO or device never blocks the daemon).
 */
import { constants, promises as fs } from 'node:fs';
import { isAbsolute, join, resolve, sep } from 'node:path';
import { checkKeys, driverError as fail, MAX_VALUE_BYTES } from '../src/drivers/kit.ts';
import type { DriverSetup, SecretDriver, SecretRequest, SecretValue, StringMap } from '../src/drivers/types.ts';

export const FILE_DRIVER = 'file';

/** The operator's settings: `--driver-opt file.KEY=VALUE`. */
export interface FileSettings {
  /** The directory holding the secret files. Required; relative paths resolve against the daemon's cwd. */
  root?: string;
}

/** A secret's `Driver.Options` (untrusted: they come from the API client). */
export interface FileOptions {
  /** The file below `root`, `/`-separated and relative. Default: the secret's name. */
  path?: string;
}

/** Longest `path` accepted, in characters (Linux PATH_MAX). */
const MAX_PATH_CHARS = 4096;
const SETTING_KEYS = ['root'];
const OPTION_KEYS = ['path'];

/** A fresh, unconfigured driver (the default export is one; tests make their own). */
export function createFileDriver(): SecretDriver {
  let root: string | undefined;

  return {
    name: FILE_DRIVER,
    kind: 'secret',

    async init(setup: DriverSetup): Promise<void> {
      root = await checkSettings(setup.settings);
    },

    async validate(options: StringMap, secret: { name: string }): Promise<void> {
      const dir = configured(root);
      checkKeys('option', options, OPTION_KEYS);
      const rel = checkRelativePath(options.path ?? secret.name);
      // The file may be provisioned later; when it already exists it must already be usable.
      const target = await locate(dir, rel, { mayBeMissing: true });
      if (target !== undefined) await readBounded(target, rel, { probeOnly: true });
    },

    async get(request: SecretRequest): Promise<SecretValue> {
      const dir = configured(root);
      const options = request.Options ?? {};
      checkKeys('option', options, OPTION_KEYS);
      const rel = checkRelativePath(options.path ?? request.SecretName);
      const target = await locate(dir, rel, { mayBeMissing: false });
      return { value: await readBounded(target!, rel, { probeOnly: false }) };
    },
  };
}

const driver: SecretDriver = createFileDriver();
export default driver;

// --- helpers -------------------------------------------------------------------------------------

async function checkSettings(settings: StringMap): Promise<string | undefined> {
  checkKeys('setting', settings, SETTING_KEYS);
  if (settings.root === undefined) return undefined;
  if (settings.root === '' || settings.root.includes('\0')) throw fail('setting "root" must be a directory path');
  const dir = resolve(settings.root);
  const st = await fs.stat(dir).catch(() => undefined);
  if (!st?.isDirectory()) throw fail(`setting "root": ${dir} is not a directory`);
  return dir;
}

function configured(root: string | undefined): string {
  if (root === undefined) throw fail('not configured: start secretd with --driver-opt file.root=DIR');
  return root;
}

/** Lexical checks on an untrusted relative path; returns it unchanged. */
function checkRelativePath(rel: string): string {
  if (typeof rel !== 'string' || rel === '') throw fail('the path is empty');
  if (rel.includes('\0')) throw fail('the path contains a NUL byte');
  if (rel.length > MAX_PATH_CHARS) throw fail(`the path is longer than ${MAX_PATH_CHARS} characters`);
  const shown = JSON.stringify(rel);
  if (isAbsolute(rel)) throw fail(`path ${shown} is absolute; give it relative to the root`);
  if (rel.split('/').includes('..')) throw fail(`path ${shown} has a ".." segment`);
  return rel;
}

/**
 * The real path of `root/rel`, checked to stay inside the root's real path (symlinks are followed,
 * then judged by where they land). Undefined when the file is missing and that is allowed.
 */
async function locate(root: string, rel: string, opts: { mayBeMissing: boolean }): Promise<string | undefined> {
  const shown = JSON.stringify(rel);
  let realRoot: string;
  try {
    realRoot = await fs.realpath(root);
  } catch {
    throw fail(`the root directory ${root} is gone`);
  }
  let real: string;
  try {
    real = await fs.realpath(join(realRoot, rel));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      if (opts.mayBeMissing) return undefined;
      throw fail(`no file ${shown} under the root`);
    }
    throw fail(`cannot resolve ${shown} (${code ?? 'error'})`);
  }
  if (!inside(realRoot, real)) throw fail(`path ${shown} resolves outside the root`);
  return real;
}

function inside(realRoot: string, real: string): boolean {
  const prefix = realRoot.endsWith(sep) ? realRoot : realRoot + sep;
  return real.startsWith(prefix);
}

/**
 * Opens without following a last symlink and without blocking (O_NONBLOCK: a FIFO opens at once
 * and is then refused as not a regular file), checks the open file is still inside the root where
 * /proc can tell, and reads at most MAX_VALUE_BYTES + 1 bytes.
 */
async function readBounded(real: string, rel: string, opts: { probeOnly: boolean }): Promise<Uint8Array> {
  const shown = JSON.stringify(rel);
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(real, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW | constants.O_NOCTTY);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw fail(`no file ${shown} under the root`);
    if (code === 'ELOOP') throw fail(`path ${shown} changed into a symlink while being read`);
    throw fail(`cannot open ${shown} (${code ?? 'error'})`);
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw fail(`path ${shown} is not a regular file`);
    await checkStillInside(handle.fd, real, shown);
    if (st.size === 0) throw fail(`file ${shown} is empty`);
    if (st.size > MAX_VALUE_BYTES) throw fail(`file ${shown} is larger than ${MAX_VALUE_BYTES} bytes`);
    if (opts.probeOnly) return new Uint8Array(0);
    const buf = Buffer.alloc(MAX_VALUE_BYTES + 1);
    let length = 0;
    while (length < buf.length) {
      const { bytesRead } = await handle.read(buf, length, buf.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length === 0) throw fail(`file ${shown} is empty`);
    if (length > MAX_VALUE_BYTES) throw fail(`file ${shown} is larger than ${MAX_VALUE_BYTES} bytes`);
    const value = new Uint8Array(length);
    value.set(buf.subarray(0, length));
    buf.fill(0);
    return value;
  } finally {
    await handle.close();
  }
}

/** Closes the gap between realpath and open (a directory swapped for a symlink): Linux only. */
async function checkStillInside(fd: number, real: string, shown: string): Promise<void> {
  const opened = await fs.readlink(`/proc/self/fd/${fd}`).catch(() => undefined);
  if (opened !== undefined && opened !== real) throw fail(`path ${shown} changed while being read`);
}
