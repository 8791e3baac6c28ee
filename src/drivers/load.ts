/**
 * Driver loading: every module in the project's drivers/ folder, then each `--driver` path or
 * package. A module default-exports one driver (src/drivers/types.ts); its shape is checked
 * here, so a broken module stops the daemon at start with a message that names it.
 */
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { extname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { StartupError } from '../core/errors.ts';
import type { Driver } from './types.ts';

/** The built-in drivers' folder. */
export const BUILTIN_DRIVERS_DIR = fileURLToPath(new URL('../../drivers/', import.meta.url));

const MODULE_EXTENSIONS = new Set(['.ts', '.mts', '.js', '.mjs', '.cjs']);

/** The same rule as a secret name's first character, then dots, dashes and underscores. */
export const DRIVER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/;

/** Which function members each kind must have, and which it may have. */
const MEMBERS = {
  secret: { required: ['get'], optional: ['validate', 'store', 'removed'] },
  templating: { required: ['render'], optional: [] },
  provider: { required: ['resolve'], optional: [] },
} as const;
const COMMON_HOOKS = ['init', 'close'] as const;

export class DriverLoadError extends StartupError {}

export interface LoadedDriver {
  driver: Driver;
  /** Where it came from, for messages: a file path or a package name. */
  source: string;
}

/** The module files directly in `dir` (no READMEs, no declaration files), sorted. */
export function driverFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile() && MODULE_EXTENSIONS.has(extname(e.name)) && !e.name.endsWith('.d.ts'))
    .map((e) => join(dir, e.name))
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
    mod = await import(url);
  } catch (e) {
    throw new DriverLoadError(`${what} ${specifier} failed to load: ${(e as Error).message}`);
  }
  return defaultExport(mod);
}

/** Checks that `value` is a driver; returns it or throws a DriverLoadError naming `source`. */
export function checkDriver(value: unknown, source: string): Driver {
  const fail = (why: string): never => {
    throw new DriverLoadError(`driver ${source}: ${why}`);
  };
  if (typeof value !== 'object' || value === null) fail('the module must default-export a driver object');
  const d = value as Record<string, unknown>;
  const kind = d.kind;
  if (kind !== 'secret' && kind !== 'templating' && kind !== 'provider') {
    fail(`"kind" must be "secret", "templating" or "provider", not ${JSON.stringify(kind) ?? 'undefined'}`);
  }
  const members = MEMBERS[kind as keyof typeof MEMBERS];
  if (typeof d.name !== 'string' || !DRIVER_NAME.test(d.name)) {
    fail(`"name" must be 1 to 64 characters [a-zA-Z0-9_.-] starting with a letter or digit, not ${JSON.stringify(d.name) ?? 'undefined'}`);
  }
  for (const m of members.required) if (typeof d[m] !== 'function') fail(`a ${kind} driver must have a "${m}" function`);
  for (const m of [...members.optional, ...COMMON_HOOKS]) {
    if (d[m] !== undefined && typeof d[m] !== 'function') fail(`"${m}" must be a function when present`);
  }
  return value as Driver;
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
