/**
 * The seal binding of a secret's value: what a sealed value is bound to, and how to open it.
 * Shared by the secrets domain, delivery, key rotation and the start-up keyring check, so it
 * sits with the keys rather than in any one of them.
 */
import type { KeyService } from './keys.ts';

/**
 * Binds a sealed value to its record (see src/crypto/envelope.ts): the ID and the creation
 * time, which never change for a secret, since Swarm never changes a secret's data. Label
 * updates bump the version but leave the sealed value as it is.
 */
export const sealContext = (r: { id: string; createdAt: string }) => `secretd/secret/${r.id}@${r.createdAt}`;
/** What format-1 values (sealed before envelope encryption) were bound to. */
export const legacySealContext = (r: { id: string }) => `secretd/secret/${r.id}`;

/** Opens the sealed value of a record, whichever format it is in. */
export function openSealed(keys: KeyService, r: { id: string; createdAt: string; sealed: Uint8Array }): Promise<Buffer> {
  return keys.open(r.sealed, sealContext(r), legacySealContext(r));
}
