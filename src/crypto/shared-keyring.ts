/**
 * Daemons that share a store must share the KEKs too, or one daemon's sealed values are noise
 * to the others. The first daemon leaves a value sealed with its current key in the store; every
 * later one must be able to open it, or it refuses to start. The check value is a fixed string,
 * not a secret, and only its sealed form is stored.
 */
import type { KeyService } from './keys.ts';
import { StartupError } from '../secrets/errors.ts';

const CHECK = Buffer.from('secretd keyring check');
const AAD = 'secretd/keyring-check';

export class KeyringMismatch extends StartupError {}

/** `exchange` stores the given sealed check unless one exists, and returns the stored one. */
export async function verifySharedKeyring(keys: KeyService, file: string, exchange: (sealed: Uint8Array) => Promise<Uint8Array>): Promise<void> {
  const stored = await exchange(await keys.seal(CHECK, AAD));
  let opened: Buffer | undefined;
  try {
    opened = await keys.open(stored, AAD);
  } catch {
    opened = undefined;
  }
  if (!opened?.equals(CHECK)) {
    const what = keys.providerName === 'file' ? `the keyring ${file}` : `the key provider ${keys.providerName}`;
    throw new KeyringMismatch(
      `${what} cannot open what the other daemons on this store sealed: start every daemon with a copy of the same --keyring FILE`,
    );
  }
}
