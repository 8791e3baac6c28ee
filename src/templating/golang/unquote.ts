/**
 * strconv.Unquote and UnquoteChar for the template's string and character literals, on Go byte
 * strings; a bad literal is Go's "invalid syntax".
 */
import { encodeRune, decodeRune } from './bytes.ts';

export class SyntaxError_ extends Error {
  constructor() {
    super('invalid syntax');
  }
}

const SIMPLE: Record<string, number> = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11, '\\': 0x5c };

/** One (possibly escaped) character at `i`: [its bytes, its value as a rune, next index]. */
export function unquoteChar(s: string, i: number, quote: string): [string, number, number] {
  const c = s[i];
  if (c === undefined) throw new SyntaxError_();
  if (c === quote && (quote === "'" || quote === '"')) throw new SyntaxError_();
  if (c !== '\\') {
    const [r, w] = decodeRune(s, i);
    return [s.slice(i, i + w), r, i + w];
  }
  const e = s[i + 1];
  if (e === undefined) throw new SyntaxError_();
  if (e in SIMPLE) {
    const r = SIMPLE[e]!;
    return [String.fromCharCode(r), r, i + 2];
  }
  if (e === quote && (e === "'" || e === '"')) return [e, e.charCodeAt(0), i + 2];
  let n = 0;
  if (e === 'x') n = 2;
  else if (e === 'u') n = 4;
  else if (e === 'U') n = 8;
  if (n > 0) {
    const digits = s.slice(i + 2, i + 2 + n);
    if (digits.length !== n || !/^[0-9a-fA-F]+$/.test(digits)) throw new SyntaxError_();
    const v = parseInt(digits, 16);
    if (e === 'x') return [String.fromCharCode(v), v, i + 2 + n];
    if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) throw new SyntaxError_();
    return [encodeRune(v), v, i + 2 + n];
  }
  if (e >= '0' && e <= '7') {
    const digits = s.slice(i + 1, i + 4);
    if (!/^[0-7]{3}$/.test(digits)) throw new SyntaxError_();
    const v = parseInt(digits, 8);
    if (v > 255) throw new SyntaxError_();
    return [String.fromCharCode(v), v, i + 4];
  }
  throw new SyntaxError_();
}

/** strconv.Unquote of a "..." or `...` literal. */
export function unquote(lit: string): string {
  const q = lit[0];
  if (lit.length < 2 || lit[lit.length - 1] !== q) throw new SyntaxError_();
  const body = lit.slice(1, -1);
  if (q === '`') {
    if (body.includes('`')) throw new SyntaxError_();
    return body.replace(/\r/g, '');
  }
  if (q !== '"') throw new SyntaxError_();
  let out = '';
  for (let i = 0; i < body.length; ) {
    if (body[i] === '\n') throw new SyntaxError_();
    const [v, , next] = unquoteChar(body, i, '"');
    out += v;
    i = next;
  }
  return out;
}
