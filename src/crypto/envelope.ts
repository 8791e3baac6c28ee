/**
 * Envelope encryption of one secret value (format 2). The value is sealed with AES-256-GCM
 * under its own random 256-bit data key; the data key is kept wrapped by a key-encryption key
 * (KEK) of the key provider (src/crypto/types.ts). Rotating the KEK rewrites only the header:
 * the data ciphertext stays as it is.
 *
 * Wire format (all lengths in bytes, integers big-endian):
 *   1  format version (2)
 *   1  KEK id length N
 *   N  KEK id (ASCII): which key of the provider wrapped the data key
 *   2  wrapped data key length M
 *   M  wrapped data key (the provider's bytes; bound by the provider to the same context)
 *   12 nonce (random)
 *   …  ciphertext
 *   16 GCM tag
 *
 * The data's additional authenticated data is the format byte followed by the context, which
 * names the record (`secretd/secret/<id>@<createdAt>`): a ciphertext moved to another record
 * does not open. The header after the format byte is not part of it, so a re-wrap can replace
 * the wrapped key; a wrapped key moved from another record fails the provider's own check.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { freshRandomBytes } from '../core/random.ts';

export const FORMAT = 2;
export const LEGACY_FORMAT = 1;
const NONCE = 12;
const TAG = 16;
export const DATA_KEY_BYTES = 32;

export class EnvelopeError extends Error {}

/** The parts of a sealed value of format 2. */
export interface Envelope {
  kekId: string;
  wrappedKey: Buffer;
  /** nonce, ciphertext and tag */
  body: Buffer;
}

export function newDataKey(): Buffer {
  return freshRandomBytes(DATA_KEY_BYTES);
}

/** Seals `plaintext` under `dataKey`; `kekId` and `wrappedKey` say how to recover the data key. */
export function sealEnvelope(dataKey: Buffer, kekId: string, wrappedKey: Buffer, plaintext: Uint8Array, context: string): Buffer {
  const nonce = freshRandomBytes(NONCE);
  const cipher = createCipheriv('aes-256-gcm', dataKey, nonce, { authTagLength: TAG });
  cipher.setAAD(dataAad(context));
  const body = Buffer.concat([nonce, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  return assemble({ kekId, wrappedKey, body });
}

/** The format byte of a sealed value (1 = legacy, 2 = envelope). */
export function formatOf(sealed: Uint8Array): number {
  return sealed[0] ?? 0;
}

export function parseEnvelope(sealed: Uint8Array): Envelope {
  const b = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  if (b[0] !== FORMAT || b.length < 2) throw new EnvelopeError('unknown sealed-data format');
  const idEnd = 2 + b[1]!;
  if (b.length < idEnd + 2) throw new EnvelopeError('truncated sealed data');
  const keyEnd = idEnd + 2 + b.readUInt16BE(idEnd);
  if (b.length < keyEnd + NONCE + TAG) throw new EnvelopeError('truncated sealed data');
  return { kekId: b.subarray(2, idEnd).toString('ascii'), wrappedKey: b.subarray(idEnd + 2, keyEnd), body: b.subarray(keyEnd) };
}

export function openEnvelope(dataKey: Buffer, envelope: Envelope, context: string): Buffer {
  const { body } = envelope;
  const decipher = createDecipheriv('aes-256-gcm', dataKey, body.subarray(0, NONCE), { authTagLength: TAG });
  decipher.setAAD(dataAad(context));
  decipher.setAuthTag(body.subarray(body.length - TAG));
  try {
    return Buffer.concat([decipher.update(body.subarray(NONCE, body.length - TAG)), decipher.final()]);
  } catch {
    throw new EnvelopeError('sealed data does not authenticate (wrong key, or moved to another record)');
  }
}

/** The same sealed data with its data key wrapped anew (KEK rotation). */
export function rewrapEnvelope(envelope: Envelope, kekId: string, wrappedKey: Buffer): Buffer {
  return assemble({ kekId, wrappedKey, body: envelope.body });
}

function assemble({ kekId, wrappedKey, body }: Envelope): Buffer {
  const id = Buffer.from(kekId, 'ascii');
  if (id.length === 0 || id.length > 255) throw new EnvelopeError('a KEK id must be 1 to 255 ASCII characters');
  if (wrappedKey.length > 0xffff) throw new EnvelopeError('a wrapped data key must be shorter than 64 KiB');
  const len = Buffer.alloc(2);
  len.writeUInt16BE(wrappedKey.length);
  return Buffer.concat([Buffer.from([FORMAT, id.length]), id, len, wrappedKey, body]);
}

function dataAad(context: string): Buffer {
  return Buffer.concat([Buffer.from([FORMAT]), Buffer.from(context, 'utf8')]);
}
