/**
 * Loads a `--kek-provider MODULE` by the drivers' rules (a .ts/.js path or an installed package,
 * src/drivers/load.ts), checks its shape, and initialises it with its `--driver-opt` settings.
 * Any problem stops the daemon at start with a message naming the module.
 */
import { checkPlugin, DriverLoadError, importDefault, type PluginShape } from '../drivers/load.ts';
import type { KeyProvider } from './types.ts';

/** The one kind (src/crypto/types.ts), checked by the drivers' rules. */
const KINDS: Record<string, PluginShape> = {
  'key-provider': { noun: 'a key provider', required: ['currentKeyId', 'wrap', 'unwrap'], optional: ['init', 'rotate', 'retain', 'keyIds', 'close'] },
};

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
  return checkPlugin(value, source, 'key provider', KINDS) as unknown as KeyProvider;
}
