/**
 * Finds a legacy (v1) Docker plugin by name, in the places dockerd looks (moby
 * `pkg/plugins/discovery.go` @v25.0.0): a unix socket first, then a `.spec` or `.json` file.
 *
 * Search order, first match wins:
 * 1. sockets: `<dir>/<name>.sock`, then `<dir>/<name>/<name>.sock`, for each extra folder (in the
 *    order given), then `/run/docker/plugins`; only a real socket counts;
 * 2. spec files: `<dir>/<name>.spec`, `<dir>/<name>/<name>.spec`, `<dir>/<name>.json`,
 *    `<dir>/<name>/<name>.json`, for each extra folder, then `/etc/docker/plugins`,
 *    `/usr/lib/docker/plugins`.
 * Extra folders (`--plugin-dir`) are searched first so an operator can shadow a system plugin; a
 * socket anywhere still beats a spec file anywhere, as in dockerd. Rootless dockerd's XDG folders are
 * not searched: pass them as extra folders.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { PluginUnusable } from '../../src/core/errors.ts';

/** dockerd's socket folder. */
export const SOCKET_DIRS: readonly string[] = ['/run/docker/plugins'];
/** dockerd's spec folders, in its order. */
export const SPEC_DIRS: readonly string[] = ['/etc/docker/plugins', '/usr/lib/docker/plugins'];

/** A legacy plugin name is a file name: no separators, no leading dot. */
const PLUGIN_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/;

/** The TLS settings of a `.json` spec (go-connections `tlsconfig.Options`), after dockerd's rules. */
export interface PluginTls {
  /** Off when the file has a TLSConfig without CAFile (dockerd forces InsecureSkipVerify then). */
  insecureSkipVerify: boolean;
  /** PEM file of an extra trusted CA (added to the system roots, as Go does). */
  caFile?: string;
  /** PEM client certificate and key, for plugins that want mutual TLS. */
  certFile?: string;
  keyFile?: string;
}

/** Where a plugin listens, as discovery found it. */
export interface PluginAddress {
  name: string;
  /** A URL: `unix:///run/docker/plugins/x.sock`, `tcp://host:port`, `https://host:port`… */
  addr: string;
  /** The socket or spec file it came from (for messages). */
  file: string;
  /** TLS settings; absent means Go's defaults (system roots, verification on) for `https://`. */
  tls?: PluginTls;
}

/** The folders to search; see the module comment for the order. */
export interface SearchPath {
  socketDirs: readonly string[];
  specDirs: readonly string[];
}

/** dockerd's folders, with `extraDirs` searched first for both sockets and spec files. */
export function searchPath(extraDirs: readonly string[] = [], base: SearchPath = { socketDirs: SOCKET_DIRS, specDirs: SPEC_DIRS }): SearchPath {
  return { socketDirs: [...extraDirs, ...base.socketDirs], specDirs: [...extraDirs, ...base.specDirs] };
}

/** Splits a `:`-separated folder list (the `dirs` setting); empty entries are dropped. */
export function parseDirList(value: string | undefined): string[] {
  return (value ?? '')
    .split(':')
    .map((d) => d.trim())
    .filter((d) => d !== '');
}

/**
 * The plugin called `name`, or undefined when no socket or spec file has that name (also for names
 * that cannot be file names). A spec file that exists but is unusable throws PluginUnusable with
 * dockerd's `legacy plugin: …` wording (`Unknown protocol` for a `.spec` line without a scheme).
 */
export async function findPlugin(name: string, path: SearchPath = searchPath()): Promise<PluginAddress | undefined> {
  if (!PLUGIN_NAME.test(name)) return undefined;
  for (const dir of path.socketDirs) {
    for (const file of candidates(dir, name, '.sock')) {
      if ((await statOf(file))?.isSocket()) return { name, addr: `unix://${file}`, file };
    }
  }
  for (const dir of path.specDirs) {
    for (const file of [...candidates(dir, name, '.spec'), ...candidates(dir, name, '.json')]) {
      if (!(await statOf(file))) continue;
      return file.endsWith('.json') ? readJsonSpec(name, file) : readTextSpec(name, file);
    }
  }
  return undefined;
}

function candidates(dir: string, name: string, ext: string): string[] {
  return [join(dir, name + ext), join(dir, name, name + ext)];
}

async function statOf(file: string) {
  try {
    return await stat(file);
  } catch {
    return undefined;
  }
}

/** A URL scheme as Go's url.Parse finds one. */
const SCHEME = /^[a-zA-Z][a-zA-Z0-9+.-]*:/;

async function readTextSpec(name: string, file: string): Promise<PluginAddress> {
  const addr = (await readSpecFile(file)).trim();
  if (!SCHEME.test(addr)) throw new PluginUnusable('legacy plugin: Unknown protocol');
  // dockerd gives every socket and .spec plugin InsecureSkipVerify (pkg/plugins NewLocalPlugin).
  return { name, addr, file, tls: { insecureSkipVerify: true } };
}

async function readJsonSpec(name: string, file: string): Promise<PluginAddress> {
  let doc: unknown;
  try {
    doc = JSON.parse(await readSpecFile(file));
  } catch (e) {
    throw new PluginUnusable(`legacy plugin: ${file}: ${(e as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new PluginUnusable(`legacy plugin: ${file}: not a JSON object`);
  }
  const addr = goField(doc, 'Addr');
  if (typeof addr !== 'string' || addr === '') throw new PluginUnusable(`legacy plugin: ${file}: no "Addr"`);
  const spec: PluginAddress = { name, addr, file };
  const t = goField(doc, 'TLSConfig');
  if (typeof t === 'object' && t !== null) {
    const str = (k: string) => {
      const v = goField(t, k);
      return typeof v === 'string' && v !== '' ? v : undefined;
    };
    const caFile = str('CAFile');
    spec.tls = {
      // dockerd's rule: a TLSConfig without CAFile means "do not verify".
      insecureSkipVerify: caFile === undefined || goField(t, 'InsecureSkipVerify') === true,
      ...(caFile && { caFile }),
      ...(str('CertFile') && { certFile: str('CertFile') }),
      ...(str('KeyFile') && { keyFile: str('KeyFile') }),
    };
  }
  return spec;
}

async function readSpecFile(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    throw new PluginUnusable(`legacy plugin: ${(e as Error).message}`);
  }
}

/** A member as Go's encoding/json matches it: the exact key, else a case-insensitive one. */
export function goField(obj: object, key: string): unknown {
  const rec = obj as Record<string, unknown>;
  if (Object.hasOwn(rec, key)) return rec[key];
  const lower = key.toLowerCase();
  const found = Object.keys(rec).find((k) => k.toLowerCase() === lower);
  return found === undefined ? undefined : rec[found];
}
