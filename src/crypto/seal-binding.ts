/**
 * The seal binding of a secret's value: what a sealed value is bound to, and how to open it.
 * Shared by the secrets domain, rotation, delivery, key rotation and the start-up keyring check,
 * so it sits with the keys rather than in any one of them.
 */
import type { KeyService } from './keys.ts';

/**
 * Binds a sealed value to its secret and version (see src/crypto/envelope.ts): the ID and the
 * creation time, which never change for a secret, and the value version for every version after
 * the first (src/secrets/versions.ts), so one version's bytes never open as another's. Label
 * updates bump the record's version but leave the sealed value as it is.
 */
export const valueContext = (r: { id: string; createdAt: string }, valueVersion = 1) =>
  valueVersion <= 1 ? `secretd/secret/${r.id}@${r.createdAt}` : `secretd/secret/${r.id}@${r.createdAt}#${valueVersion}`;
/** The context of a record's current value. */
export const sealContext = (r: { id: string; createdAt: string; valueVersion?: number | undefined }) => valueContext(r, r.valueVersion);
/** What format-1 values (sealed before envelope encryption) were bound to. */
export const legacySealContext = (r: { id: string }) => `secretd/secret/${r.id}`;

/** Opens the sealed value of a record, whichever format it is in. */
export function openSealed(keys: KeyService, r: { id: string; createdAt: string; valueVersion?: number | undefined; sealed: Uint8Array }): Promise<Buffer> {
  return keys.open(r.sealed, sealContext(r), legacySealContext(r));
}
