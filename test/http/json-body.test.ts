/**
 * parseJsonBody against Engine 25's httputils.ReadJSON: Go's json.Decoder reads one value, then
 * Decoder.More() decides whether anything follows. Every syntax-error text below is what a real
 * dockerd answers for the same body (20.10 answers it without the "invalid JSON: " prefix that
 * Engine 25 adds).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseJsonBody } from '../../src/http/json-body.ts';
import { InvalidRequest } from '../../src/core/errors.ts';

const bytes = (s: string) => Buffer.from(s, 'utf8');
const raw = (s: string) => Buffer.from(s, 'latin1');
/** A body for a test title: printable ASCII as is, every other byte as \xNN. */
const show = (b: Buffer) => [...b].map((c) => (c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, '0')}`)).join('');

function assertRefused(body: Uint8Array, message: string | RegExp): void {
  assert.throws(
    () => parseJsonBody(body),
    (e: unknown) => {
      assert.ok(e instanceof InvalidRequest, `expected an InvalidRequest, got ${String(e)}`);
      assert.equal(e.code, 'invalid_request');
      if (typeof message === 'string') assert.equal(e.message, message);
      else assert.match(e.message, message);
      return true;
    },
  );
}

describe('parseJsonBody takes one value', () => {
  const accepted: [title: string, body: string, value: unknown][] = [
    ['an object', '{"Name":"a","Labels":{"k":"v"}}', { Name: 'a', Labels: { k: 'v' } }],
    ['whitespace before and after the value', ' \t\r\n{"a":1} \t\r\n', { a: 1 }],
    ['a top-level string', '"x"', 'x'],
    ['a top-level number', '-1.5e3', -1500],
    ['null', 'null', null],
    ['an empty array', '[]', []],
    ['a closing brace after the value (Decoder.More is false before "}")', '{"a":1}}', { a: 1 }],
    ['several closing braces after the value', '{"a":1}}}}', { a: 1 }],
    ['a closing bracket after the value (Decoder.More is false before "]")', '[1]]', [1]],
    ['a closing brace after whitespace after the value', '{"a":1} \n}', { a: 1 }],
    ['a closing brace after a number', '1}', 1],
    ['a closing bracket followed by anything', '{"a":1}]garbage', { a: 1 }],
    ['escapes in strings', '"\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9"', '"\\/\b\f\n\r\té'],
    ['non-ASCII text', '{"k":"ключ 🔑"}', { k: 'ключ 🔑' }],
    ['duplicate keys, the last one winning', '{"a":1,"a":2}', { a: 2 }],
  ];
  for (const [title, body, value] of accepted) {
    test(`accepts ${title}`, () => assert.deepEqual(parseJsonBody(bytes(body)), value));
  }

  test('reads a Uint8Array that is a view into a larger buffer', () => {
    const pool = Buffer.from('xxxx{"a":[1,2]}yyyy');
    assert.deepEqual(parseJsonBody(pool.subarray(4, 15)), { a: [1, 2] });
    assert.deepEqual(parseJsonBody(new Uint8Array(pool.buffer, pool.byteOffset + 4, 11)), { a: [1, 2] });
  });
});

describe('parseJsonBody refuses content after the value', () => {
  const refused: [title: string, body: string][] = [
    ['a letter after an object', '{"a":1}x'],
    ['a second object', '{"a":1} {"b":2}'],
    ['a second number', '1 2'],
    ['a second string right after the first', '"a""b"'],
    ['a comma after null', 'null,'],
    ['a digit after a leading zero', '01'],
    ['an opening bracket after an array', '[] ['],
    ['a NUL byte after the value', '{}\u0000'],
  ];
  for (const [title, body] of refused) {
    test(`refuses ${title} with "unexpected content after JSON"`, () => assertRefused(bytes(body), 'unexpected content after JSON'));
  }
});

describe('parseJsonBody refuses a body without a value', () => {
  const empty: [title: string, body: string][] = [
    ['an empty body', ''],
    ['a single space', ' '],
    ['tabs, CR and LF only', '\t\r\n \t'],
  ];
  for (const [title, body] of empty) {
    test(`refuses ${title} with "got EOF while reading request body"`, () => assertRefused(bytes(body), 'invalid JSON: got EOF while reading request body'));
  }
});

describe('parseJsonBody refuses a truncated value with "unexpected EOF"', () => {
  const truncated = [
    '{',
    '{"a"',
    '{"a":',
    '{"a":1',
    '{"a":1,',
    '[',
    '[1,',
    'tru',
    'nul',
    'f',
    '"abc',
    '"\\',
    '"\\u12',
    '1.',
    '-',
    '1e',
    '1e+',
    'fals',
    ' [ { ',
  ];
  for (const body of truncated) {
    test(`refuses ${JSON.stringify(body)}`, () => assertRefused(bytes(body), 'invalid JSON: unexpected EOF'));
  }
});

describe('parseJsonBody words syntax errors as Go does', () => {
  const syntax: [body: Buffer, message: string][] = [
    [bytes('{not json'), "invalid character 'n' looking for beginning of object key string"],
    [bytes('[1,]'), "invalid character ']' looking for beginning of value"],
    [bytes('{"a" 1}'), "invalid character '1' after object key"],
    [bytes('{"a":1 "b"}'), `invalid character '"' after object key:value pair`],
    [bytes('[1 2]'), "invalid character '2' after array element"],
    [bytes('[01]'), "invalid character '1' after array element"],
    [bytes('trux'), "invalid character 'x' in literal true (expecting 'e')"],
    [bytes('nul!'), "invalid character '!' in literal null (expecting 'l')"],
    [bytes('folse'), "invalid character 'o' in literal false (expecting 'a')"],
    [bytes('"a\\qb"'), "invalid character 'q' in string escape code"],
    [bytes('"\\u12x4"'), "invalid character 'x' in \\u hexadecimal character escape"],
    [bytes('-x'), "invalid character 'x' in numeric literal"],
    [bytes('1.x'), "invalid character 'x' after decimal point in numeric literal"],
    [bytes('1ex'), "invalid character 'x' in exponent of numeric literal"],
    [bytes('"a\nb"'), "invalid character '\\n' in string literal"],
    [bytes('"a\tb"'), "invalid character '\\t' in string literal"],
    [bytes('{"a":}'), "invalid character '}' looking for beginning of value"],
    [bytes('{"a":1,}'), "invalid character '}' looking for beginning of object key string"],
    [bytes('{,}'), "invalid character ',' looking for beginning of object key string"],
    [bytes("'"), "invalid character '\\'' looking for beginning of value"],
    [bytes('\\'), "invalid character '\\\\' looking for beginning of value"],
    [bytes('\u0001'), "invalid character '\\x01' looking for beginning of value"],
    [bytes('\u007f'), "invalid character '\\x7f' looking for beginning of value"],
    [bytes('+1'), "invalid character '+' looking for beginning of value"],
    [bytes('undefined'), "invalid character 'u' looking for beginning of value"],
    [raw('\xef\xbb\xbf{}'), "invalid character 'ï' looking for beginning of value"],
    [raw('\x85'), "invalid character '\\u0085' looking for beginning of value"],
    // Go's quoteChar uses strconv.Quote: U+00A0 is not printable there (dockerd answers '\u00a0').
    [raw('\xa0'), "invalid character '\\u00a0' looking for beginning of value"],
    [raw('\xad'), "invalid character '\\u00ad' looking for beginning of value"],
    [raw('\xe9'), "invalid character 'é' looking for beginning of value"],
  ];
  for (const [body, message] of syntax) {
    test(`refuses ${show(body)} with "${message}"`, () => assertRefused(body, `invalid JSON: ${message}`));
  }
});

describe('parseJsonBody bounds nesting as Go does (10 000 levels)', () => {
  test('accepts exactly 10 000 nested arrays', () => {
    let v = parseJsonBody(bytes('['.repeat(10_000) + ']'.repeat(10_000)));
    let depth = 0;
    while (Array.isArray(v)) {
      depth++;
      v = v[0];
    }
    assert.equal(depth, 10_000);
  });

  test('refuses 20 000 unclosed brackets with "exceeded max depth" instead of crashing', () => {
    assertRefused(bytes('['.repeat(20_000)), "invalid JSON: invalid character '[' exceeded max depth");
  });

  test('refuses 20 000 nested objects, unclosed, with "exceeded max depth"', () => {
    assertRefused(bytes('{"a":'.repeat(20_000)), "invalid JSON: invalid character '{' exceeded max depth");
  });

  test('refuses 10 001 nested, well-formed arrays with "exceeded max depth"', () => {
    assertRefused(bytes('['.repeat(10_001) + ']'.repeat(10_001)), "invalid JSON: invalid character '[' exceeded max depth");
  });

  test('refuses 20 000 nested, well-formed arrays with "exceeded max depth"', () => {
    assertRefused(bytes('['.repeat(20_000) + ']'.repeat(20_000)), "invalid JSON: invalid character '[' exceeded max depth");
  });

  test('refuses 20 000 nested, well-formed objects with "exceeded max depth"', () => {
    assertRefused(bytes('{"a":'.repeat(20_000) + '1' + '}'.repeat(20_000)), "invalid JSON: invalid character '{' exceeded max depth");
  });
});

describe('parseJsonBody keeps hostile keys as data', () => {
  test('a "__proto__" key stays an own property and changes no prototype', () => {
    const v = parseJsonBody(bytes('{"__proto__":{"polluted":true},"Labels":{"__proto__":"x","constructor":"y"}}')) as Record<string, any>;
    assert.ok(Object.hasOwn(v, '__proto__'));
    assert.equal(Object.getPrototypeOf(v), Object.prototype);
    assert.deepEqual(Object.keys(v), ['__proto__', 'Labels']);
    assert.deepEqual(Object.keys(v.Labels), ['__proto__', 'constructor']);
    assert.equal(v.Labels.constructor, 'y');
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal((v as { polluted?: unknown }).polluted, undefined);
  });

  test('a "__proto__" key read through the error path (content after the value) stays an own property too', () => {
    const v = parseJsonBody(bytes('{"__proto__":{"polluted":true}}}')) as Record<string, unknown>;
    assert.ok(Object.hasOwn(v, '__proto__'));
    assert.equal(Object.getPrototypeOf(v), Object.prototype);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });
});
