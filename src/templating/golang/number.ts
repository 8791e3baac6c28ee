/**
 * Number literals as Go's parse.newNumber reads them: one literal may be an int, a uint, a float
 * and a complex at once (1 is all of int, uint and float), with Go's strconv syntax rules.
 */
import type { NumberInfo } from './ast.ts';
import { unquoteChar } from './unquote.ts';

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const UINT64_MAX = (1n << 64n) - 1n;

/** Go's underscoreOK: underscores only between digits or after a base prefix. */
function underscoreOK(s: string): boolean {
  let saw = '^';
  let i = 0;
  if (s[0] === '+' || s[0] === '-') s = s.slice(1);
  let hex = false;
  if (s.length >= 2 && s[0] === '0' && /[bBoOxX]/.test(s[1]!)) {
    i = 2;
    saw = '0';
    hex = /[xX]/.test(s[1]!);
  }
  for (; i < s.length; i++) {
    const c = s[i]!;
    if (/[0-9]/.test(c) || (hex && /[a-fA-F]/.test(c))) {
      saw = '0';
      continue;
    }
    if (c === '_') {
      if (saw !== '0') return false;
      saw = '_';
      continue;
    }
    if (saw === '_') return false;
    saw = '!';
  }
  return saw !== '_';
}

/** strconv.ParseInt/ParseUint with base 0, as a bigint, or undefined on any error. */
function parseInteger(text: string): bigint | undefined {
  let s = text;
  let neg = false;
  if (s[0] === '+' || s[0] === '-') {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s.includes('_') && !underscoreOK(text)) return undefined;
  const body = s.replace(/_/g, '');
  let m: RegExpMatchArray | null;
  let v: bigint;
  if ((m = /^0[xX]([0-9a-fA-F]+)$/.exec(body))) v = BigInt('0x' + m[1]);
  else if ((m = /^0[bB]([01]+)$/.exec(body))) v = BigInt('0b' + m[1]);
  else if ((m = /^0[oO]?([0-7]+)$/.exec(body))) v = BigInt('0o' + m[1]);
  else if (/^(0|[1-9][0-9]*)$/.test(body)) v = BigInt(body);
  else return undefined;
  return neg ? -v : v;
}

/** strconv.ParseFloat for decimal and hex floats; undefined on a syntax or range error. */
function parseFloat64(text: string): number | undefined {
  let s = text;
  if (s.includes('_')) {
    if (!underscoreOK(s)) return undefined;
    s = s.replace(/_/g, '');
  }
  let m: RegExpMatchArray | null;
  if ((m = /^([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?[pP]([+-]?[0-9]+)$/.exec(s))) {
    const [, sign, ip = '', fp = '', exp] = m;
    if (ip === '' && fp === '') return undefined;
    const mant = parseInt(ip || '0', 16) + (fp ? parseInt(fp, 16) / 16 ** fp.length : 0);
    const v = mant * 2 ** Number(exp);
    if (!Number.isFinite(v)) return undefined;
    return sign === '-' ? -v : v;
  }
  if (!/^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$/.test(s)) return undefined;
  const v = Number(s);
  return Number.isFinite(v) ? v : undefined;
}

function blank(text: string): NumberInfo {
  return { text, isInt: false, isUint: false, isFloat: false, isComplex: false, int: 0n, uint: 0n, float: 0, complex: { re: 0, im: 0 } };
}

function simplifyComplex(n: NumberInfo): void {
  n.isFloat = n.complex.im === 0;
  if (n.isFloat) {
    n.float = n.complex.re;
    n.isInt = Number.isInteger(n.float) && BigInt(n.float) >= INT64_MIN && BigInt(n.float) <= INT64_MAX;
    if (n.isInt) n.int = BigInt(n.float);
    n.isUint = Number.isInteger(n.float) && n.float >= 0 && BigInt(n.float) <= UINT64_MAX;
    if (n.isUint) n.uint = BigInt(n.float);
  }
}

/** Reads a number token (`kind` is 'char', 'complex' or 'number'); throws an Error with Go's text. */
export function parseNumber(text: string, kind: 'char' | 'complex' | 'number'): NumberInfo {
  const n = blank(text);
  if (kind === 'char') {
    const [, r, next] = unquoteChar(text, 1, "'");
    if (text.slice(next) !== "'") throw new Error(`malformed character constant: ${text}`);
    n.int = n.uint = BigInt(r);
    n.float = r;
    n.isInt = n.isUint = n.isFloat = true;
    return n;
  }
  if (kind === 'complex') {
    const m = /^([+-]?[^+-]+)([+-].*)i$/.exec(text);
    const re = m ? parseFloat64(m[1]!) : undefined;
    const im = m ? parseFloat64(m[2]!) : undefined;
    if (re === undefined || im === undefined) throw new Error('expected integer');
    n.complex = { re, im };
    n.isComplex = true;
    simplifyComplex(n);
    return n;
  }
  if (text.endsWith('i')) {
    const f = parseFloat64(text.slice(0, -1));
    if (f !== undefined) {
      n.isComplex = true;
      n.complex = { re: 0, im: f };
      simplifyComplex(n);
      return n;
    }
  }
  const i = parseInteger(text);
  if (i !== undefined && i >= 0n && i <= UINT64_MAX) {
    n.isUint = true;
    n.uint = i;
  }
  if (i !== undefined && i >= INT64_MIN && i <= INT64_MAX) {
    n.isInt = true;
    n.int = i;
  }
  if (n.isInt) {
    n.isFloat = true;
    n.float = Number(n.int);
  } else if (n.isUint) {
    n.isFloat = true;
    n.float = Number(n.uint);
  } else {
    const f = parseFloat64(text);
    if (f !== undefined) {
      if (!/[.eEpP]/.test(text)) throw new Error(`integer overflow: ${JSON.stringify(text)}`);
      n.isFloat = true;
      n.float = f;
      if (Number.isInteger(f) && BigInt(f) >= INT64_MIN && BigInt(f) <= INT64_MAX) {
        n.isInt = true;
        n.int = BigInt(f);
      }
      if (Number.isInteger(f) && f >= 0 && BigInt(f) <= UINT64_MAX) {
        n.isUint = true;
        n.uint = BigInt(f);
      }
    }
  }
  if (!n.isInt && !n.isUint && !n.isFloat) throw new Error(`illegal number syntax: ${JSON.stringify(text)}`);
  return n;
}
