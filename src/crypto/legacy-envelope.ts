/**
 * Format 1 of sealed values, written by secretd before envelope encryption: the value sealed
 * directly under a keyring key. Kept to open (and migrate, src/secrets/key-rotation.ts) data
 * roots written then; nothing seals in this format any more except tests building such roots.
 * The additional authenticated data is the header below followed by `secretd/secret/<id>`.
 *
 * Wire format (all lengths in bytes):
 *   1  format version (1)
 *   1  key-id length N
 *   N  key id (ASCII): which key of the keyring sealed it, so keys can rotate
 *   12 nonce (random)
 *   …  ciphertext
 *   16 GCM tag
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const FORMAT = 1;
const NONCE = 12;
const TAG = 16;

export interface SealingKey {
  id: string;
  /** 32 bytes. */
  key: Buffer;
}

export class EnvelopeError extends Error {}

export function seal(key: SealingKey, plaintext: Uint8Array, aad: string): Buffer {
  const nonce = randomBytes(NONCE);
  const id = Buffer.from(key.id, 'ascii');
  const header = Buffer.concat([Buffer.from([FORMAT, id.length]), id]);
  const cipher = createCipheriv('aes-256-gcm', key.key, nonce, { authTagLength: TAG });
  cipher.setAAD(Buffer.concat([header, Buffer.from(aad, 'utf8')]));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([header, nonce, body, cipher.getAuthTag()]);
}

/** The key id a sealed value names (to pick the key before opening). */
export function sealedKeyId(sealed: Uint8Array): string {
  const b = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  if (b.length < 2 || b[0] !== FORMAT) throw new EnvelopeError('unknown sealed-data format');
  return b.subarray(2, 2 + b[1]!).toString('ascii');
}

export function open(key: SealingKey, sealed: Uint8Array, aad: string): Buffer {
  const b = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  const idLen = b[1] ?? 0;
  const start = 2 + idLen;
  if (b[0] !== FORMAT || b.length < start + NONCE + TAG) throw new EnvelopeError('unknown sealed-data format');
  const decipher = createDecipheriv('aes-256-gcm', key.key, b.subarray(start, start + NONCE), { authTagLength: TAG });
  decipher.setAAD(Buffer.concat([b.subarray(0, start), Buffer.from(aad, 'utf8')]));
  decipher.setAuthTag(b.subarray(b.length - TAG));
  try {
    return Buffer.concat([decipher.update(b.subarray(start + NONCE, b.length - TAG)), decipher.final()]);
  } catch {
    throw new EnvelopeError('sealed data does not authenticate (wrong key, or moved to another record)');
  }
}
