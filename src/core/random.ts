/**
 * Random bytes for the per-write draws (an ID, a data key, two nonces), taken from a block that
 * OpenSSL fills once per few hundred draws: each call into OpenSSL costs some microseconds of
 * fixed overhead, four of them per create. Every byte handed out is copied into its own buffer
 * and zeroed in the block at once, so no draw is ever given twice or stays behind in the block.
 * Larger draws (a key of a keyring, a token) go to OpenSSL directly.
 */
import { randomBytes, randomFillSync } from 'node:crypto';

const BLOCK_BYTES = 4096;
/** Draws up to this size come from the block. */
const POOLED_MAX = 64;

const block = Buffer.allocUnsafeSlow(BLOCK_BYTES);
let used = BLOCK_BYTES;

/** `n` fresh random bytes in a buffer of their own (not a slice of a shared one). */
export function freshRandomBytes(n: number): Buffer {
  if (n > POOLED_MAX) return randomBytes(n);
  if (used + n > BLOCK_BYTES) {
    randomFillSync(block);
    used = 0;
  }
  const out = Buffer.allocUnsafeSlow(n);
  block.copy(out, 0, used, used + n);
  block.fill(0, used, used + n);
  used += n;
  return out;
}
