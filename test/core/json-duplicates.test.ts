import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { hasMarkedKeys, keepingDuplicates, markDuplicateKeys, realKey } from '../../src/core/json-duplicates.ts';

/** The parsed value's objects as [real key, value] lists, marked keys named back. */
function entries(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(entries);
  if (typeof value !== 'object' || value === null) return value;
  return Object.entries(value).map(([k, v]) => [realKey(k), entries(v)]);
}

const kept = (json: string) => keepingDuplicates(json, JSON.parse(json));

describe('markDuplicateKeys', () => {
  test('leaves a document without a repeated key alone', () => {
    for (const json of ['{}', '[]', '"a"', '{"a":1,"b":{"a":2},"c":[{"a":3},{"a":4}]}', '{"a":"\\"a\\":1,","b":"{\\"a\\":"}']) {
      assert.equal(markDuplicateKeys(json), undefined, json);
      assert.equal(hasMarkedKeys(kept(json)), false, json);
    }
  });

  test('keeps every occurrence, in document order, at every depth', () => {
    const value = kept('{"a":1,"b":{"x":true,"x":false,"x":null},"a":"two","c":[{"k":1,"k":2}]}');
    assert.equal(hasMarkedKeys(value), true);
    assert.deepEqual(entries(value), [
      ['a', 1],
      [
        'b',
        [
          ['x', true],
          ['x', false],
          ['x', null],
        ],
      ],
      ['a', 'two'],
      [
        'c',
        [
          [
            ['k', 1],
            ['k', 2],
          ],
        ],
      ],
    ]);
  });

  test('compares keys as decoded: an escape and its character are the same key', () => {
    assert.deepEqual(entries(kept('{"a":1,"\\u0061":2,"\\"q\\"":3,"\\"q\\"":4}')), [
      ['a', 1],
      ['a', 2],
      ['"q"', 3],
      ['"q"', 4],
    ]);
  });

  test('is not fooled by quotes, brackets, commas and backslashes inside strings', () => {
    const json = '{"a":"x\\\\","b":"}{,\\"a\\":","a":"[\\\\\\"]"}';
    assert.deepEqual(entries(kept(json)), [
      ['a', 'x\\'],
      ['b', '}{,"a":'],
      ['a', '[\\"]'],
    ]);
  });

  test('a key that looks like a mark is a plain key', () => {
    // The mark carries a random part chosen at start-up: a client cannot write one.
    const forged = '{"\\u0000abc:1:a":1,"a":2}';
    assert.equal(markDuplicateKeys(forged), undefined);
    assert.deepEqual(entries(kept(forged)), [
      ['\u0000abc:1:a', 1],
      ['a', 2],
    ]);
  });

  test('handles 100,000 distinct and 100,000 repeated keys of one object', () => {
    const distinct = `{${Array.from({ length: 100_000 }, (_, i) => `"k${i}":${i}`).join(',')}}`;
    assert.equal(markDuplicateKeys(distinct), undefined);
    const repeated = `{${Array.from({ length: 100_000 }, (_, i) => `"k":${i}`).join(',')}}`;
    const value = kept(repeated) as Record<string, number>;
    const keys = Object.keys(value);
    assert.equal(keys.length, 100_000);
    assert.ok(keys.every((k) => realKey(k) === 'k'));
    assert.equal(value[keys.at(-1)!], 99_999);
  });
});
