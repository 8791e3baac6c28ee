/**
 * Swarm's manager unlock key, and the key file's locked form. The key is printed as swarmkit
 * prints it: `SWMKEY-1-` and the unpadded standard base64 of 32 random bytes. While autolock is
 * on, the key file holds the KEKs only encrypted under a key derived from the unlock key
 * (HKDF-SHA256 with a random salt, then AES-256-GCM), so a stopped daemon's data root cannot be
 * read without it.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const PREFIX = 'SWMKEY-1-';
const INFO = 'secretd keyring';
const AAD = Buffer.from('secretd/keyring/locked');

/** The key file's payload while locked. */
export interface LockedPayload {
  kdf: 'hkdf-sha256';
  cipher: 'aes-256-gcm';
  salt: string;
  nonce: string;
  /** ciphertext and tag, base64 */
  sealed: string;
}

/** The key is not `SWMKEY-1-` and unpadded base64: dockerd's 400 `invalid key string`. */
export class MalformedUnlockKey extends Error {}
/** The key is well formed but does not open the key file: dockerd's 401. */
export class WrongUnlockKey extends Error {}

export function newUnlockKey(): Buffer {
  return randomBytes(32);
}

export function formatUnlockKey(key: Buffer): string {
  return PREFIX + key.toString('base64').replace(/=+$/, '');
}

/** As swarmkit's ParseHumanReadableKey: the prefix, then Go's RawStdEncoding (no padding). */
export function parseUnlockKey(text: string): Buffer {
  if (!text.startsWith(PREFIX)) throw new MalformedUnlockKey('invalid key string');
  const b64 = text.slice(PREFIX.length).replace(/[\r\n]/g, '');
  if (!/^[A-Za-z0-9+/]*$/.test(b64) || b64.length % 4 === 1) throw new MalformedUnlockKey('invalid key string');
  return Buffer.from(b64, 'base64');
}

export function lockPayload(unlockKey: Buffer, plaintext: Buffer): LockedPayload {
  const salt = randomBytes(16);
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', derive(unlockKey, salt), nonce);
  cipher.setAAD(AAD);
  const sealed = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  return { kdf: 'hkdf-sha256', cipher: 'aes-256-gcm', salt: salt.toString('base64'), nonce: nonce.toString('base64'), sealed: sealed.toString('base64') };
}

export function unlockPayload(unlockKey: Buffer, payload: LockedPayload): Buffer {
  const sealed = Buffer.from(payload.sealed, 'base64');
  const decipher = createDecipheriv('aes-256-gcm', derive(unlockKey, Buffer.from(payload.salt, 'base64')), Buffer.from(payload.nonce, 'base64'));
  decipher.setAAD(AAD);
  decipher.setAuthTag(sealed.subarray(sealed.length - 16));
  try {
    return Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - 16)), decipher.final()]);
  } catch {
    throw new WrongUnlockKey('swarm could not be unlocked: invalid key provided');
  }
}

function derive(unlockKey: Buffer, salt: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', unlockKey, salt, INFO, 32));
}
