/**
 * Reads a request body as JSON the way Engine 25's httputils.ReadJSON does with Go's decoder:
 * one value, whitespace around it; content after it is refused; every failure is a 400 that
 * starts with "invalid JSON: " and carries Go's own wording and character.
 */
import { InvalidRequest } from '../core/errors.ts';
import { keepingDuplicates } from '../core/json-duplicates.ts';

const MAX_DEPTH = 10_000; // Go's scanner limit

/**
 * With `duplicates`, a key repeated in an object is kept as Go's decoder sees it, under a marked
 * key (src/core/json-duplicates.ts), for a caller that decodes as Go does (SchemaRegistry.decodeAs).
 */
export function parseJsonBody(bytes: Uint8Array, duplicates = false): unknown {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  try {
    const value: unknown = JSON.parse(text); // the usual case: one valid value, only whitespace around it
    if (!deeperThan(bytes, MAX_DEPTH)) return duplicates ? keepingDuplicates(text, value) : value;
  } catch {
    // find out why, in Go's words
  }
  const end = scanValue(bytes);
  let rest = end;
  while (rest < bytes.length && isSpace(bytes[rest]!)) rest++;
  // json.Decoder.More() is false at the end and before a closing bracket: that much is ignored.
  if (rest < bytes.length && bytes[rest] !== 0x5d && bytes[rest] !== 0x7d) throw new InvalidRequest('unexpected content after JSON');
  const whole = Buffer.from(bytes.subarray(0, end)).toString('utf8');
  const value: unknown = JSON.parse(whole);
  return duplicates ? keepingDuplicates(whole, value) : value;
}

/**
 * Whether valid JSON text nests more than `limit` arrays and objects: one scan of its bytes (a
 * walk of the parsed value enumerated every key of every object, slow in V8 on big maps).
 */
function deeperThan(b: Uint8Array, limit: number): boolean {
  let depth = 0;
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    if (c === 0x22) {
      // Skip the string: its brackets are text. The JSON is valid, so it is closed.
      for (i++; b[i] !== 0x22; i++) if (b[i] === 0x5c) i++;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > limit) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

const isSpace = (c: number) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
const isHex = (c: number) => isDigit(c) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);

/** Go's quoteChar: the offending byte as Go prints it between single quotes. */
function quoteChar(c: number): string {
  if (c === 0x27) return `'\\''`;
  if (c === 0x22) return `'"'`;
  const named: Record<number, string> = { 7: '\\a', 8: '\\b', 9: '\\t', 10: '\\n', 11: '\\v', 12: '\\f', 13: '\\r', 92: '\\\\' };
  if (named[c]) return `'${named[c]}'`;
  if (c < 0x20 || c === 0x7f) return `'\\x${c.toString(16).padStart(2, '0')}'`;
  if (c >= 0x80 && c <= 0x9f) return `'\\u00${c.toString(16).padStart(2, '0')}'`;
  if (c === 0xa0 || c === 0xad) return `'\\u00${c.toString(16)}'`; // not printable for Go
  return `'${String.fromCharCode(c)}'`;
}

function fail(c: number, context: string): never {
  throw new InvalidRequest(`invalid JSON: invalid character ${quoteChar(c)} ${context}`);
}

function eof(): never {
  throw new InvalidRequest('invalid JSON: unexpected EOF');
}

/** Returns the index just past the first JSON value, or throws Go's error for it. */
function scanValue(b: Uint8Array): number {
  let i = 0;
  const stack: number[] = []; // 0x7b '{' or 0x5b '['
  const skip = () => {
    while (i < b.length && isSpace(b[i]!)) i++;
  };
  skip();
  if (i === b.length) throw new InvalidRequest('invalid JSON: got EOF while reading request body');

  // Each turn reads one value at i, then the punctuation that follows it inside containers.
  for (;;) {
    skip();
    if (i === b.length) eof();
    let c = b[i]!;
    if (c === 0x7b || c === 0x5b) {
      if (stack.length >= MAX_DEPTH) fail(c, 'exceeded max depth');
      stack.push(c);
      i++;
      skip();
      if (i === b.length) eof();
      const close = c === 0x7b ? 0x7d : 0x5d;
      if (b[i] === close) {
        stack.pop();
        i++;
      } else if (c === 0x7b) {
        readKey();
        continue;
      } else continue;
    } else if (c === 0x22) readString();
    else if (c === 0x2d || isDigit(c)) readNumber();
    else if (c === 0x74) readLiteral('true');
    else if (c === 0x66) readLiteral('false');
    else if (c === 0x6e) readLiteral('null');
    else fail(c, 'looking for beginning of value');

    // After a complete value: close containers or move on to the next element.
    for (;;) {
      if (stack.length === 0) return i;
      skip();
      if (i === b.length) eof();
      c = b[i]!;
      const top = stack[stack.length - 1]!;
      if (top === 0x7b) {
        if (c === 0x2c) {
          i++;
          readKey();
          break;
        }
        if (c === 0x7d) {
          stack.pop();
          i++;
          continue;
        }
        fail(c, 'after object key:value pair');
      }
      if (c === 0x2c) {
        i++;
        break;
      }
      if (c === 0x5d) {
        stack.pop();
        i++;
        continue;
      }
      fail(c, 'after array element');
    }
  }

  function readKey(): void {
    skip();
    if (i === b.length) eof();
    if (b[i] !== 0x22) fail(b[i]!, 'looking for beginning of object key string');
    readString();
    skip();
    if (i === b.length) eof();
    if (b[i] !== 0x3a) fail(b[i]!, 'after object key');
    i++;
  }

  function readString(): void {
    i++; // opening quote
    while (i < b.length) {
      const c = b[i]!;
      if (c === 0x22) {
        i++;
        return;
      }
      if (c < 0x20) fail(c, 'in string literal');
      if (c === 0x5c) {
        i++;
        if (i === b.length) eof();
        const e = b[i]!;
        if (e === 0x75) {
          for (let k = 1; k <= 4; k++) {
            if (i + k >= b.length) eof();
            if (!isHex(b[i + k]!)) fail(b[i + k]!, 'in \\u hexadecimal character escape');
          }
          i += 4;
        } else if (!'"\\/bfnrt'.includes(String.fromCharCode(e))) fail(e, 'in string escape code');
      }
      i++;
    }
    eof();
  }

  function readNumber(): void {
    if (b[i] === 0x2d) {
      i++;
      if (i === b.length) eof();
      if (!isDigit(b[i]!)) fail(b[i]!, 'in numeric literal');
    }
    if (b[i] === 0x30) i++;
    else while (i < b.length && isDigit(b[i]!)) i++;
    if (b[i] === 0x2e) {
      i++;
      if (i === b.length) eof();
      if (!isDigit(b[i]!)) fail(b[i]!, 'after decimal point in numeric literal');
      while (i < b.length && isDigit(b[i]!)) i++;
    }
    if (b[i] === 0x65 || b[i] === 0x45) {
      i++;
      if (b[i] === 0x2b || b[i] === 0x2d) i++;
      if (i === b.length) eof();
      if (!isDigit(b[i]!)) fail(b[i]!, 'in exponent of numeric literal');
      while (i < b.length && isDigit(b[i]!)) i++;
    }
  }

  function readLiteral(word: string): void {
    for (let k = 0; k < word.length; k++) {
      if (i === b.length) eof();
      if (b[i] !== word.charCodeAt(k)) fail(b[i]!, `in literal ${word} (expecting '${word[k]}')`);
      i++;
    }
  }
}
