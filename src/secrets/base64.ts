/**
 * Decodes `Data` the way Go decodes a JSON []byte (standard, padded base64; CR and LF skipped),
 * and also accepts the URL-safe alphabet that the v1.44 contract documents. Errors carry Go's
 * wording and byte offsets, because dockerd shows them to the client.
 */
import { InvalidRequest } from '../core/errors.ts';

const INVALID = 0xff;
const decodeMap = new Uint8Array(256).fill(INVALID);
for (const [i, c] of [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'].entries()) decodeMap[c.charCodeAt(0)] = i;
decodeMap['+'.charCodeAt(0)] = 62;
decodeMap['/'.charCodeAt(0)] = 63;
decodeMap['-'.charCodeAt(0)] = 62; // URL-safe alphabet
decodeMap['_'.charCodeAt(0)] = 63;

const PAD = 61; // '='
const isNewline = (c: number) => c === 10 || c === 13;

/** Go's base64.CorruptInputError text. */
export class Base64Error extends InvalidRequest {
  readonly offset: number;
  constructor(offset: number) {
    super(`illegal base64 data at input byte ${offset}`);
    this.offset = offset;
  }
}

const CLEAN = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function decodeBase64(s: string): Uint8Array {
  // What every client sends: one regular expression, then Node's decoder.
  if (CLEAN.test(s)) return Buffer.from(s, 'base64');
  return decodeCarefully(Buffer.from(s, 'utf8'));
}

/** Go's decodeQuantum loop, for everything the fast path does not take. */
function decodeCarefully(src: Uint8Array): Uint8Array {
  const out: number[] = [];
  let si = 0;
  while (si < src.length) {
    const buf = [0, 0, 0, 0];
    let len = 4;
    for (let j = 0; j < 4; j++) {
      if (si === src.length) {
        if (j === 0) return Uint8Array.from(out);
        throw new Base64Error(si - j); // padding is required
      }
      const c = src[si]!;
      si++;
      const v = decodeMap[c]!;
      if (v !== INVALID) {
        buf[j] = v;
        continue;
      }
      if (isNewline(c)) {
        j--;
        continue;
      }
      if (c !== PAD || j < 2) throw new Base64Error(si - 1);
      if (j === 2) {
        while (si < src.length && isNewline(src[si]!)) si++;
        if (si === src.length) throw new Base64Error(src.length);
        if (src[si] !== PAD) throw new Base64Error(si - 1);
        si++;
      }
      while (si < src.length && isNewline(src[si]!)) si++;
      if (si < src.length) throw new Base64Error(si); // content after the padding
      len = j;
      break;
    }
    const val = (buf[0]! << 18) | (buf[1]! << 12) | (buf[2]! << 6) | buf[3]!;
    const bytes = [(val >> 16) & 0xff, (val >> 8) & 0xff, val & 0xff];
    out.push(...bytes.slice(0, len - 1));
  }
  return Uint8Array.from(out);
}
