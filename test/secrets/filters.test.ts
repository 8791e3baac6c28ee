/**
 * `GET /secrets?filters=…`: dockerd's filters.FromJSON (both encodings), Args.Validate, and the
 * label matching of swarmkit's filterMatchLabels after ConvertKVStringsToMap.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SchemaRegistry } from '../../src/schemas.ts';
import { InvalidRequest } from '../../src/core/errors.ts';
import { checkFilterKeys, matchesLabels, parseFilters, toSelection, type Filters } from '../../src/secrets/filters.ts';
import type { SecretRecord } from '../../src/secrets/types.ts';

const schemas = new SchemaRegistry();
const parse = (raw: string | undefined) => parseFilters(raw, schemas);
const entries = (f: Filters) => [...f.entries()];

function assertInvalid(fn: () => unknown, message: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof InvalidRequest, `expected an InvalidRequest, got ${String(e)}`);
    assert.equal(e.code, 'invalid_request');
    assert.equal(e.message, message);
    return true;
  });
}

function secret(labels: Record<string, string>): SecretRecord {
  return { id: 'id', name: 'n', labels, version: 1, createdAt: '2024-01-01T00:00:00Z', updatedAt: '2024-01-01T00:00:00Z' };
}

describe('parseFilters', () => {
  const parsed: [title: string, raw: string | undefined, filters: [string, string[]][]][] = [
    ['no query value is no filter', undefined, []],
    ['an empty value is no filter', '', []],
    ['{} is no filter', '{}', []],
    ['null is no filter', 'null', []],
    ['the current encoding: value → true', '{"name":{"x":true}}', [['name', ['x']]]],
    ['the current encoding ignores the bool: false still filters', '{"name":{"x":false}}', [['name', ['x']]]],
    ['the legacy encoding: a list of values', '{"name":["x"]}', [['name', ['x']]]],
    [
      'several keys and values in the current encoding',
      '{"name":{"a":true,"b":true},"label":{"k=v":true}}',
      [
        ['name', ['a', 'b']],
        ['label', ['k=v']],
      ],
    ],
    [
      'several keys and values in the legacy encoding',
      '{"id":["a","b"],"names":["n"]}',
      [
        ['id', ['a', 'b']],
        ['names', ['n']],
      ],
    ],
    ['an empty value map', '{"name":{}}', [['name', []]]],
    ['an empty value list', '{"name":[]}', [['name', []]]],
    ['a null value set', '{"name":null}', [['name', []]]],
    ['unknown keys (checked later, by checkFilterKeys)', '{"bogus":["x"]}', [['bogus', ['x']]]],
    ['a repeated key in the current encoding, the last one winning (Go zeroes each map element)', '{"name":{"x":true},"name":{"y":true}}', [['name', ['y']]]],
    ['a "__proto__" key as a plain key', '{"__proto__":["x"]}', [['__proto__', ['x']]]],
    // Go decodes null into a bool or a string as the zero value, without an error: a real dockerd
    // answers 200 for both of these (filters={"name":{"x":null}} and {"name":["x",null]}).
    ['a null bool in the current encoding (Go: false)', '{"name":{"x":null}}', [['name', ['x']]]],
    ['a null string in the legacy encoding (Go: "")', '{"name":["x",null]}', [['name', ['x', '']]]],
  ];
  for (const [title, raw, filters] of parsed) {
    test(`parseFilters accepts ${title}`, () => assert.deepEqual(entries(parse(raw)), filters));
  }

  const invalid: [title: string, raw: string][] = [
    ['malformed JSON', '{bad'],
    ['a bare word', 'nope'],
    ['a string value', '{"name":"x"}'],
    ['a number in a value list', '{"name":[1]}'],
    ['a number as the bool', '{"name":{"x":1}}'],
    ['a string as the bool', '{"name":{"x":"true"}}'],
    ['a nested list', '{"name":[["x"]]}'],
    ['a top-level array', '[1]'],
    ['a top-level string', '"name"'],
    ['a top-level number', '1'],
    ['both encodings mixed in one document', '{"name":["x"],"label":{"k":true}}'],
    ['content after the document', '{} x'],
  ];
  for (const [title, raw] of invalid) {
    test(`parseFilters refuses ${title} with "invalid filter"`, () => assertInvalid(() => parse(raw), 'invalid filter'));
  }
  // Go decodes every occurrence of a repeated key (JSON.parse keeps only the last): a real
  // dockerd refuses both of these documents.
  for (const raw of ['{"name":{"x":true},"name":["y"]}', '{"name":["x"],"name":{"y":true}}']) {
    test(`parseFilters refuses ${raw}, a key repeated in both encodings`, () => assertInvalid(() => parse(raw), 'invalid filter'));
  }
});

describe('checkFilterKeys', () => {
  test('accepts id, label, name and names', () => {
    checkFilterKeys(parse('{"id":["a"],"label":["b"],"name":["c"],"names":["d"]}'), schemas);
    checkFilterKeys(parse(''), schemas);
  });

  const refused: [raw: string, key: string][] = [
    ['{"bogus":["x"]}', 'bogus'],
    ['{"Name":["x"]}', 'Name'],
    ['{"name":["x"],"type":["y"]}', 'type'],
    ['{"__proto__":["x"]}', '__proto__'],
    ['{"constructor":{"x":true}}', 'constructor'],
    ['{"":["x"]}', ''],
  ];
  for (const [raw, key] of refused) {
    test(`refuses ${raw} with "invalid filter '${key}'"`, () => assertInvalid(() => checkFilterKeys(parse(raw), schemas), `invalid filter '${key}'`));
  }
});

describe('toSelection', () => {
  test('maps names to exact names, name to name prefixes and id to ID prefixes', () => {
    const { query } = toSelection(parse('{"names":["n1","n2"],"name":["p"],"id":["abc"]}'));
    assert.deepEqual(query.names, ['n1', 'n2']);
    assert.deepEqual(query.namePrefixes, ['p']);
    assert.deepEqual(query.idPrefixes, ['abc']);
  });

  test('leaves criteria that are not given undefined', () => {
    const { query, labels } = toSelection(parse(''));
    assert.equal(query.names, undefined);
    assert.equal(query.namePrefixes, undefined);
    assert.equal(query.idPrefixes, undefined);
    assert.equal(labels.size, 0);
  });

  const labelSpecs: [spec: string, key: string, value: string][] = [
    ['k', 'k', ''],
    ['k=v', 'k', 'v'],
    ['k=', 'k', ''],
    ['=x', '', 'x'],
    ['k=a=b', 'k', 'a=b'],
    ['=', '', ''],
  ];
  for (const [spec, key, value] of labelSpecs) {
    test(`reads label=${spec} as key ${JSON.stringify(key)} with ${value === '' ? 'any value' : `value ${JSON.stringify(value)}`}`, () => {
      const { labels } = toSelection(new Map([['label', [spec]]]));
      assert.deepEqual([...labels.entries()], [[key, value]]);
    });
  }
});

describe('matchesLabels', () => {
  const cases: [title: string, wanted: string[], labels: Record<string, string>, match: boolean][] = [
    ['no label filter matches everything', [], {}, true],
    ['label=k matches the key with any value', ['k'], { k: 'v' }, true],
    ['label=k matches the key with an empty value', ['k'], { k: '' }, true],
    ['label=k does not match without the key', ['k'], { other: 'v' }, false],
    ['label=k=v matches the exact value', ['k=v'], { k: 'v' }, true],
    ['label=k=v does not match another value', ['k=v'], { k: 'w' }, false],
    ['label=k=v does not match an empty value', ['k=v'], { k: '' }, false],
    ['label=k=v does not match a longer value', ['k=v'], { k: 'vv' }, false],
    ['label=k= is the same as label=k', ['k='], { k: 'anything' }, true],
    ['label==x matches an empty key with value x', ['=x'], { '': 'x' }, true],
    ['label==x does not match an empty key with another value', ['=x'], { '': 'y' }, false],
    ['label==x does not match without an empty key', ['=x'], { x: 'x' }, false],
    ['labels are AND-ed: all present', ['a', 'b=2'], { a: '1', b: '2', c: '3' }, true],
    ['labels are AND-ed: one missing', ['a', 'b=2'], { a: '1' }, false],
    ['labels are AND-ed: one with the wrong value', ['a=1', 'b=2'], { a: '1', b: '3' }, false],
    ['keys compare case-sensitively', ['K'], { k: 'v' }, false],
    ['values compare case-sensitively', ['k=V'], { k: 'v' }, false],
    ['an inherited name is not a label: toString', ['toString'], {}, false],
    ['an inherited name is not a label: __proto__', ['__proto__'], {}, false],
    ['an inherited name is not a label: hasOwnProperty', ['hasOwnProperty'], {}, false],
  ];
  for (const [title, wanted, labels, match] of cases) {
    test(`matchesLabels: ${title}`, () => {
      const selection = toSelection(new Map([['label', wanted]]));
      assert.equal(matchesLabels(secret(labels), selection.labels), match);
    });
  }

  test('a "__proto__" label that a secret really has matches', () => {
    const labels = JSON.parse('{"__proto__":"x","constructor":"y"}') as Record<string, string>;
    assert.equal(matchesLabels(secret(labels), toSelection(parse('{"label":["__proto__=x"]}')).labels), true);
    assert.equal(matchesLabels(secret(labels), toSelection(parse('{"label":["constructor"]}')).labels), true);
    assert.equal(matchesLabels(secret(labels), toSelection(parse('{"label":["__proto__=y"]}')).labels), false);
  });
});
