/**
 * Object IDs as swarmkit makes them: 17 random bytes with the top bit set, in lower-case
 * base 36 (always 27 digits), first and last digit dropped: 25 characters of [a-z0-9].
 */
import { freshRandomBytes } from './random.ts';

export const ID_LENGTH = 25;

export function newId(): string {
  const bytes = freshRandomBytes(17);
  bytes[0]! |= 0x80;
  return BigInt(`0x${bytes.toString('hex')}`)
    .toString(36)
    .slice(1, 1 + ID_LENGTH);
}

export function looksLikeFullId(s: string): boolean {
  return s.length === ID_LENGTH && /^[a-z0-9]+$/.test(s);
}
