/**
 * Go strings as JS "binary strings" (one char per byte, 0–255), so lengths, positions, slicing
 * and comparisons are byte-exact as in Go; plus the UTF-8 and quoting helpers Go's fmt uses.
 */
import { fits } from './limits.ts';

export const RUNE_ERROR = 0xfffd;

/** Encodes a JS (UTF-16) string as a Go byte string. */
export function toGo(s: string): string {
  return Buffer.from(s, 'utf8').toString('latin1');
}

/** Decodes a Go byte string as UTF-8 text (invalid bytes become U+FFFD). */
export function fromGo(b: string): string {
  return Buffer.from(b, 'latin1').toString('utf8');
}

/** Bytes as a Go byte string. */
export function bytesToGo(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
}

/** Decodes one rune at `i` like utf8.DecodeRuneInString: [rune, width]; invalid → [U+FFFD, 1]. */
export function decodeRune(s: string, i: number): [number, number] {
  const b0 = s.charCodeAt(i);
  if (Number.isNaN(b0)) return [RUNE_ERROR, 0];
  if (b0 < 0x80) return [b0, 1];
  let need: number;
  let min: number;
  let r: number;
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    need = 1;
    min = 0x80;
    r = b0 & 0x1f;
  } else if (b0 >= 0xe0 && b0 <= 0xef) {
    need = 2;
    min = 0x800;
    r = b0 & 0x0f;
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    need = 3;
    min = 0x10000;
    r = b0 & 0x07;
  } else return [RUNE_ERROR, 1];
  for (let k = 1; k <= need; k++) {
    const b = s.charCodeAt(i + k);
    if (Number.isNaN(b) || (b & 0xc0) !== 0x80) return [RUNE_ERROR, 1];
    r = (r << 6) | (b & 0x3f);
  }
  if (r < min || r > 0x10ffff || (r >= 0xd800 && r <= 0xdfff)) return [RUNE_ERROR, 1];
  return [r, need + 1];
}

/** Width of the rune that ends at `end`, like utf8.DecodeLastRuneInString. */
export function lastRuneWidth(s: string, end: number): number {
  for (let start = end - 1; start >= 0 && start >= end - 4; start--) {
    if ((s.charCodeAt(start) & 0xc0) !== 0x80) {
      const [, w] = decodeRune(s, start);
      return w === end - start ? w : 1;
    }
  }
  return end > 0 ? 1 : 0;
}

/** Encodes a rune as a Go byte string (invalid runes as U+FFFD). */
export function encodeRune(r: number): string {
  if (r < 0 || r > 0x10ffff || (r >= 0xd800 && r <= 0xdfff)) r = RUNE_ERROR;
  return toGo(String.fromCodePoint(r));
}

/** The runes of a byte string, each with its byte width. */
export function runes(s: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < s.length; ) {
    const [r, w] = decodeRune(s, i);
    out.push(r);
    i += w;
  }
  return out;
}

export function runeCount(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; n++) i += decodeRune(s, i)[1];
  return n;
}

/** The first `n` runes of a byte string. */
export function truncateRunes(s: string, n: number): string {
  let i = 0;
  for (let k = 0; k < n && i < s.length; k++) i += decodeRune(s, i)[1];
  return s.slice(0, i);
}

const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;

/** isPrint answers for the Basic Multilingual Plane, filled as asked: 0 unknown, 1 yes, 2 no. */
const PRINT_BMP = new Uint8Array(0x10000);

/** unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space. */
export function isPrint(r: number): boolean {
  if (r === 0x20) return true;
  if (r < 0x20 || r === 0x7f) return false;
  if (r < 0x80) return true;
  if (r < 0x10000) {
    if (PRINT_BMP[r] === 0) PRINT_BMP[r] = PRINTABLE.test(String.fromCodePoint(r)) ? 1 : 2;
    return PRINT_BMP[r] === 1;
  }
  return PRINTABLE.test(String.fromCodePoint(r));
}

export function isLetter(r: number): boolean {
  if (r < 0x80) return (r >= 0x41 && r <= 0x5a) || (r >= 0x61 && r <= 0x7a);
  return /^\p{L}$/u.test(String.fromCodePoint(r));
}

export function isDigit(r: number): boolean {
  if (r < 0x80) return r >= 0x30 && r <= 0x39;
  return /^\p{Nd}$/u.test(String.fromCodePoint(r));
}

export function isUpper(r: number): boolean {
  if (r < 0x80) return r >= 0x41 && r <= 0x5a;
  return /^\p{Lu}$/u.test(String.fromCodePoint(r));
}

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}

/** Escapes one rune inside a quoted literal, like strconv's appendEscapedRune. */
function escapeRune(r: number, quote: number, asciiOnly: boolean): string {
  if (r === quote || r === 0x5c) return '\\' + String.fromCharCode(r);
  if (asciiOnly ? r < 0x80 && isPrint(r) : isPrint(r)) return encodeRune(r);
  switch (r) {
    case 7:
      return '\\a';
    case 8:
      return '\\b';
    case 12:
      return '\\f';
    case 10:
      return '\\n';
    case 13:
      return '\\r';
    case 9:
      return '\\t';
    case 11:
      return '\\v';
  }
  if (r < 0x20 || r === 0x7f) return '\\x' + hex(r, 2);
  if (r < 0x10000) return '\\u' + hex(r, 4);
  return '\\U' + hex(r, 8);
}

/**
 * strconv.Quote (or QuoteToASCII) of a byte string; invalid bytes become \xNN. Runs of plain
 * ASCII are copied in one slice; `room` bounds the result (OverBudget past it).
 */
export function quote(s: string, asciiOnly = false, room = Infinity): string {
  // Runs of characters that stand for themselves are copied in one slice; the escapes between
  // them are pieces joined once at the end (millions of `+=` build a slow rope).
  const parts: string[] = ['"'];
  let length = 1;
  const add = (piece: string) => {
    parts.push(piece);
    length += piece.length;
    fits(length, room);
  };
  let run = 0; // start of the current run of unescaped bytes
  let i = 0;
  const flush = () => {
    if (i > run) add(s.slice(run, i));
  };
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (isPlainAscii(c)) {
      i++;
      continue;
    }
    if (c < 0x80) {
      flush();
      add(ASCII_ESCAPED[c]!); // a control character, a quote or a backslash
      run = ++i;
      continue;
    }
    const [r, w] = decodeRune(s, i);
    // A valid printable rune is its own bytes: it stays in the run.
    if (!(w === 1 && r === RUNE_ERROR) && !(asciiOnly && r >= 0x80) && isPrint(r)) {
      i += w;
      continue;
    }
    flush();
    add(w === 1 && r === RUNE_ERROR ? BYTE_ESCAPED[c]! : r < 0x10000 ? (BMP_ESCAPED[r] ??= escapeRune(r, 0x22, true)) : escapeRune(r, 0x22, asciiOnly));
    run = i += w;
  }
  flush();
  fits(length + 1, room);
  parts.push('"');
  return parts.join('');
}

const isPlainAscii = (c: number) => c >= 0x20 && c < 0x7f && c !== 0x22 && c !== 0x5c;
/** How quote writes each ASCII character and each byte that is not UTF-8: tables, for speed. */
const ASCII_ESCAPED = Array.from({ length: 0x80 }, (_, c) => escapeRune(c, 0x22, false));
/** Escapes of BMP runes that need one (the same in both modes), filled as met. */
const BMP_ESCAPED: string[] = [];
const BYTE_ESCAPED = Array.from({ length: 0x100 }, (_, c) => '\\x' + hex(c, 2));

/** strconv.QuoteRune. */
export function quoteRune(r: number): string {
  return "'" + escapeRune(r, 0x27, false) + "'";
}

/** strconv.CanBackquote. */
export function canBackquote(s: string): boolean {
  for (let i = 0; i < s.length; ) {
    const [r, w] = decodeRune(s, i);
    if (w === 1 && r === RUNE_ERROR) return false;
    if (r === 0x60 || r === 0xfeff || (r < 0x20 && r !== 9) || r === 0x7f) return false;
    i += w;
  }
  return true;
}

/** `%#U` of a rune: U+0041 'A' (the quoted form only when printable). */
export function formatU(r: number): string {
  const base = 'U+' + r.toString(16).toUpperCase().padStart(4, '0');
  return isPrint(r) ? `${base} '${encodeRune(r)}'` : base;
}
