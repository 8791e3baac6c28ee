/**
 * Driver loading: every module in the project's drivers/ folder, then each `--driver` path or
 * package. A module default-exports one driver (src/drivers/types.ts); its shape is checked
 * here, so a broken module stops the daemon at start with a message that names it.
 */
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { extname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { StartupError } from '../core/errors.ts';
import { BUILD_DIR, PACKAGE_ROOT, RUNNING_BUILT } from '../core/package-root.ts';
import { typeScriptLoaded } from './typescript-hooks.ts';
import type { Driver } from './types.ts';

/** The built-in drivers' folder: their TypeScript, or their build when the daemon runs from it. */
export const BUILTIN_DRIVERS_DIR = join(RUNNING_BUILT ? BUILD_DIR : PACKAGE_ROOT, 'drivers');

/** How messages name a built-in driver's module: its source, `drivers/file.ts`, also when its build runs. */
export function builtinDriverSource(file: string): string {
  const source = `drivers/${relative(BUILTIN_DRIVERS_DIR, file)}`;
  return RUNNING_BUILT ? source.replace(/\.js$/, '.ts') : source;
}

const MODULE_EXTENSIONS = new Set(['.ts', '.mts', '.js', '.mjs', '.cjs']);

/** The same rule as a secret name's first character, then dots, dashes and underscores. */
export const DRIVER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/;

/** The function members a kind of plugin must have, and those it may have; `noun` words the errors. */
export interface PluginShape {
  noun: string;
  required: readonly string[];
  optional: readonly string[];
}

/** The driver kinds (src/drivers/types.ts); `init` and `close` are optional for each. */
const DRIVER_KINDS: Record<string, PluginShape> = {
  secret: { noun: 'a secret driver', required: ['get'], optional: ['validate', 'store', 'removed', 'init', 'close'] },
  templating: { noun: 'a templating driver', required: ['render'], optional: ['init', 'close'] },
  provider: { noun: 'a provider driver', required: ['resolve'], optional: ['init', 'close'] },
};

export class DriverLoadError extends StartupError {}

export interface LoadedDriver {
  driver: Driver;
  /** Where it came from, for messages: a file path or a package name. */
  source: string;
}

/**
 * The driver modules of `dir`, sorted: each module file directly in it (no READMEs, no
 * declaration files), and the `index.ts` of each folder that has one (a driver of several
 * files, such as docker-plugins/; a folder without one, such as examples/, is not loaded).
 */
export function driverFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => {
      if (e.isFile()) return MODULE_EXTENSIONS.has(extname(e.name)) && !e.name.endsWith('.d.ts') ? [join(dir, e.name)] : [];
      const index = ['index.ts', 'index.js'].map((n) => join(dir, e.name, n)).find((f) => existsSync(f));
      return e.isDirectory() && index ? [index] : [];
    })
    .sort();
}

/**
 * Imports a `--driver` argument: a path (absolute, or relative to `cwd`) to a TypeScript or
 * JavaScript module, or the name of an installed package (resolved from `cwd`, then from secretd).
 */
export async function loadDriver(specifier: string, cwd = process.cwd()): Promise<LoadedDriver> {
  return { driver: checkDriver(await importDefault(specifier, cwd, 'driver'), specifier), source: specifier };
}

/**
 * The default export of a module named as `--driver` names one (a path or an installed
 * package); `what` words the errors ("driver", "key provider"). Shared by every plugin kind.
 */
export async function importDefault(specifier: string, cwd: string, what: string): Promise<unknown> {
  const isPath = isAbsolute(specifier) || specifier.startsWith('.') || MODULE_EXTENSIONS.has(extname(specifier));
  const url = isPath ? pathToFileURL(resolve(cwd, specifier)).href : resolvePackage(specifier, cwd, what);
  let mod: unknown;
  try {
    if (/\.[cm]?ts$/.test(new URL(url).pathname)) await typeScriptLoaded();
    mod = await import(url);
  } catch (e) {
    throw new DriverLoadError(`${what} ${specifier} failed to load: ${(e as Error).message}`);
  }
  return defaultExport(mod);
}

/** Checks that `value` is a driver; returns it or throws a DriverLoadError naming `source`. */
export function checkDriver(value: unknown, source: string): Driver {
  return checkPlugin(value, source, 'driver', DRIVER_KINDS) as unknown as Driver;
}

/**
 * The checks every kind of plugin module shares (drivers, key providers): an object with one of
 * `kinds`, a name by DRIVER_NAME, the required functions, and functions where the optional
 * members are present. Throws a DriverLoadError that starts with `what` and `source`.
 */
export function checkPlugin(value: unknown, source: string, what: string, kinds: Record<string, PluginShape>): Record<string, unknown> {
  const fail = (why: string): never => {
    throw new DriverLoadError(`${what} ${source}: ${why}`);
  };
  if (typeof value !== 'object' || value === null) fail(`the module must default-export a ${what} object`);
  const p = value as Record<string, unknown>;
  const shape = typeof p.kind === 'string' && Object.hasOwn(kinds, p.kind) ? kinds[p.kind] : undefined;
  if (!shape) fail(`"kind" must be ${oneOf(Object.keys(kinds))}, not ${JSON.stringify(p.kind) ?? 'undefined'}`);
  if (typeof p.name !== 'string' || !DRIVER_NAME.test(p.name)) {
    fail(`"name" must be 1 to 64 characters [a-zA-Z0-9_.-] starting with a letter or digit, not ${JSON.stringify(p.name) ?? 'undefined'}`);
  }
  for (const m of shape!.required) if (typeof p[m] !== 'function') fail(`${shape!.noun} must have a "${m}" function`);
  for (const m of shape!.optional) if (p[m] !== undefined && typeof p[m] !== 'function') fail(`"${m}" must be a function when present`);
  return p;
}

/** `"a"`, `"a" or "b"`, `"a", "b" or "c"`. */
function oneOf(names: string[]): string {
  const quoted = names.map((n) => JSON.stringify(n));
  return quoted.length === 1 ? quoted[0]! : `${quoted.slice(0, -1).join(', ')} or ${quoted.at(-1)}`;
}

/** ESM `export default`, or a CommonJS module whose exports are the driver (or carry `default`). */
function defaultExport(mod: unknown): unknown {
  let v = (mod as { default?: unknown }).default;
  // A CommonJS module compiled from ESM arrives as { default: { default: driver } }.
  if (v && typeof v === 'object' && !('kind' in v) && 'default' in v) v = (v as { default: unknown }).default;
  return v;
}

function resolvePackage(name: string, cwd: string, what: string): string {
  for (const base of [join(cwd, 'noop.js'), fileURLToPath(import.meta.url)]) {
    try {
      return pathToFileURL(createRequire(base).resolve(name)).href;
    } catch {
      // try the next base
    }
  }
  try {
    return import.meta.resolve(name); // packages that only export an "import" condition
  } catch {
    throw new DriverLoadError(`${what} ${name}: no such file or installed package (from ${cwd})`);
  }
}
