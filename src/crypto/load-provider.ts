/**
 * Loads a `--kek-provider MODULE` by the drivers' rules (a .ts/.js path or an installed package,
 * src/drivers/load.ts), checks its shape, and initialises it with its `--driver-opt` settings.
 * Any problem stops the daemon at start with a message naming the module.
 */
import { DRIVER_NAME, DriverLoadError, importDefault } from '../drivers/load.ts';
import type { KeyProvider } from './types.ts';

const REQUIRED = ['currentKeyId', 'wrap', 'unwrap'] as const;
const OPTIONAL = ['init', 'rotate', 'retain', 'keyIds', 'close'] as const;

export async function loadKeyProvider(
  specifier: string,
  settings: Readonly<Record<string, Readonly<Record<string, string>>>>,
  cwd = process.cwd(),
): Promise<KeyProvider> {
  const provider = checkKeyProvider(await importDefault(specifier, cwd, 'key provider'), specifier);
  try {
    await provider.init?.({ ...settings[provider.name] });
  } catch (e) {
    throw new DriverLoadError(`key provider ${specifier}: init failed: ${(e as Error).message}`);
  }
  return provider;
}

export function checkKeyProvider(value: unknown, source: string): KeyProvider {
  const fail = (why: string): never => {
    throw new DriverLoadError(`key provider ${source}: ${why}`);
  };
  if (typeof value !== 'object' || value === null) fail('the module must default-export a key provider object');
  const p = value as Record<string, unknown>;
  if (p.kind !== 'key-provider') fail(`"kind" must be "key-provider", not ${JSON.stringify(p.kind) ?? 'undefined'}`);
  if (typeof p.name !== 'string' || !DRIVER_NAME.test(p.name)) fail(`"name" must be 1 to 64 characters [a-zA-Z0-9_.-], not ${JSON.stringify(p.name) ?? 'undefined'}`);
  for (const m of REQUIRED) if (typeof p[m] !== 'function') fail(`a key provider must have a "${m}" function`);
  for (const m of OPTIONAL) if (p[m] !== undefined && typeof p[m] !== 'function') fail(`"${m}" must be a function when present`);
  return value as KeyProvider;
}
