/**
 * SchemaRegistry: the spec/ files, and decodeAs replaying Go's encoding/json on a parsed body.
 * The expected messages are what a real dockerd answers for the same POST /secrets/create body
 * (20.10 with Go 1.19; Engine 25's Go 1.21 words them the same).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { keepingDuplicates } from '../src/core/json-duplicates.ts';
import { GoDecodeError, SchemaRegistry, SPEC_DIR } from '../src/schemas.ts';
import { generateAll, SPEC_TYPES_DIR } from '../tools/gen-spec-types.ts';

const schemas = new SchemaRegistry();
/** Bodies come from JSON text, as they do from a request (a "__proto__" key is then a plain key). */
const decode = (json: string, id = 'secret-spec.json') => schemas.decodeAs(id, keepingDuplicates(json, JSON.parse(json)));

function assertGoError(json: string, message: string, id = 'secret-spec.json'): void {
  assert.throws(
    () => decode(json, id),
    (e: unknown) => {
      assert.ok(e instanceof GoDecodeError, `expected a GoDecodeError, got ${String(e)}`);
      assert.equal(e.message, message);
      return true;
    },
  );
}

describe('spec files', () => {
  test('every schema file has an $id equal to its file name', () => {
    const files = readdirSync(SPEC_DIR).filter((f) => f.endsWith('.json'));
    assert.ok(files.length > 0);
    for (const file of files) {
      const schema = JSON.parse(readFileSync(join(SPEC_DIR, file), 'utf8')) as { $id?: unknown };
      assert.equal(schema.$id, file, `spec/${file}`);
    }
  });

  test('every schema file compiles and answers through validator($id)', () => {
    for (const file of readdirSync(SPEC_DIR).filter((f) => f.endsWith('.json'))) {
      assert.equal(typeof schemas.validator(file), 'function', file);
      assert.equal(schemas.schema(file).$id, file);
    }
  });

  test('the registry refuses a folder holding a schema whose $id is not its file name', () => {
    const dir = mkdtempSync(join(tmpdir(), 'secretd-schemas-'));
    try {
      writeFileSync(join(dir, 'thing.json'), JSON.stringify({ $id: 'other.json', type: 'object' }));
      assert.throws(() => new SchemaRegistry(dir), /thing\.json.*\$id must be "thing\.json"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('validator and schema throw for an unknown id', () => {
    assert.throws(() => schemas.validator('nope.json'), /no schema nope\.json/);
    assert.throws(() => schemas.schema('nope.json'), /no schema nope\.json/);
  });

  test('validator returns the same compiled function on every call', () => {
    assert.equal(schemas.validator('secret-spec.json'), schemas.validator('secret-spec.json'));
  });
});

describe('types generated from spec/ (src/spec-types)', () => {
  test('the committed files are what npm run gen:types makes from spec/ now', () => {
    const generated = generateAll();
    const committed = readdirSync(SPEC_TYPES_DIR).sort();
    assert.deepEqual(committed, [...generated.keys()].sort(), 'one module per schema, and index.ts; run npm run gen:types');
    for (const [file, text] of generated) {
      assert.equal(readFileSync(join(SPEC_TYPES_DIR, file), 'utf8'), text, `src/spec-types/${file} is stale: run npm run gen:types`);
    }
  });

  test('a schema becomes a type: required and optional, nullable, enum, map, $defs, description as doc', () => {
    const dir = mkdtempSync(join(tmpdir(), 'secretd-spec-types-'));
    try {
      const schema = {
        $id: 'thing.json',
        title: 'Thing',
        type: 'object',
        required: ['Kind'],
        properties: {
          Kind: { enum: ['a', 'b'], description: 'which one', default: 'a' },
          Name: { type: ['string', 'null'] },
          Labels: { type: 'object', additionalProperties: { type: 'string' } },
          Parts: { type: 'array', items: { $ref: '#/$defs/part' } },
        },
        $defs: { part: { type: 'integer' } },
      };
      writeFileSync(join(dir, 'thing.json'), JSON.stringify(schema));
      const text = generateAll(dir).get('thing.ts')!;
      assert.match(text, /export interface Thing \{\n/);
      assert.match(text, / {2}\/\*\*\n {3}\* which one\n {3}\* @default "a"\n {3}\*\/\n {2}Kind: 'a' \| 'b';\n/);
      assert.match(text, / {2}Name\?: string \| null;\n/);
      assert.match(text, / {2}Labels\?: \{ \[key: string\]: string \};\n/);
      assert.match(text, / {2}Parts\?: Part\[\];\n/);
      assert.match(text, /export type Part = number;\n/);
      assert.match(text, /export const ThingDefaults = \{\n {2}Kind: 'a',\n\} as const satisfies Partial<Thing>;\n/);
      assert.match(generateAll(dir).get('index.ts')!, /'thing\.json': Thing;/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a description too long for one line becomes a doc block wrapped at spaces; one that fits stays on its line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'secretd-spec-types-'));
    try {
      const long = Array.from({ length: 60 }, (_, i) => `word${i}`).join(' ');
      const fits = `${'x'.repeat(140)} fits`;
      const schema = { $id: 'wide.json', title: 'Wide', type: 'object', description: long, properties: { Fits: { type: 'string', description: fits } } };
      writeFileSync(join(dir, 'wide.json'), JSON.stringify(schema));
      const text = generateAll(dir).get('wide.ts')!;
      const block = /\n\/\*\*\n((?: \* .*\n)+) \*\/\nexport interface Wide /.exec(text);
      assert.ok(block, text);
      const lines = block[1]!.trimEnd().split('\n');
      assert.ok(lines.length > 1, text);
      assert.equal(lines.map((l) => l.slice(' * '.length)).join(' '), `spec/wide.json: ${long}`, 'the same words in the same order');
      assert.match(text, new RegExp(` {2}/\\*\\* ${fits} \\*/\n {2}Fits\\?: string;\n`));
      for (const line of text.split('\n')) assert.ok(line.length <= 160, `${line.length} characters: ${line}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the object name rule (secret-spec.json#/$defs/name)', () => {
  const valid = schemas.validator('secret-spec.json#/$defs/name');
  const cases: [name: string, ok: boolean][] = [
    ['a', true],
    ['Z', true],
    ['7', true],
    ['a.b_c-d', true],
    ['ab', true],
    ['a--b', true],
    ['x'.repeat(64), true],
    ['a' + '-_.'.repeat(20) + 'b', true],
    ['x'.repeat(65), false],
    ['', false],
    ['-a', false],
    ['a-', false],
    ['.a', false],
    ['a_', false],
    ['a b', false],
    ['a/b', false],
    ['ü', false],
    ['aü', false],
    ['a\nb', false],
    ['a\n', false],
  ];
  for (const [name, ok] of cases) {
    test(`${ok ? 'accepts' : 'refuses'} ${JSON.stringify(name.length > 20 ? `${name.slice(0, 8)}…(${name.length} chars)` : name)}`, () => {
      assert.equal(valid(name), ok);
    });
  }

  test('refuses non-strings', () => {
    for (const v of [1, null, ['a'], { a: 1 }]) assert.equal(valid(v), false);
  });
});

describe('decodeAs matches keys as Go does', () => {
  const decoded: [title: string, json: string, canonical: unknown][] = [
    ['keys match properties regardless of case', '{"name":"n","data":"eA==","labels":{"a":"b"}}', { Name: 'n', Data: 'eA==', Labels: { a: 'b' } }],
    ['upper-case keys match too', '{"NAME":"n","LABELS":{}}', { Name: 'n', Labels: {} }],
    ['unknown keys are dropped', '{"Name":"n","Bogus":1,"version":3,"ID":"x"}', { Name: 'n' }],
    ['the last of keys equal regardless of case wins', '{"Name":"a","name":"b","NAME":"c"}', { Name: 'c' }],
    ['nested struct keys match regardless of case', '{"driver":{"name":"d","options":{"K":"v"}}}', { Driver: { Name: 'd', Options: { K: 'v' } } }],
    [
      'map keys are kept exactly, even ones that look like properties',
      '{"Labels":{"Name":"x","NAME":"y","name":"z"}}',
      { Labels: { Name: 'x', NAME: 'y', name: 'z' } },
    ],
    ['null stays null (the zero value)', '{"Name":null,"Labels":null,"Data":null,"Driver":null}', { Name: null, Labels: null, Data: null, Driver: null }],
    ['null label values stay null', '{"Labels":{"a":null}}', { Labels: { a: null } }],
    ['a null body stays null', 'null', null],
    ['an empty object is an empty spec', '{}', {}],
  ];
  for (const [title, json, canonical] of decoded) {
    test(`decodeAs: ${title}`, () => assert.deepEqual(decode(json), canonical));
  }

  test('decodeAs keeps __proto__, constructor and other hostile label keys as own keys', () => {
    const v = decode('{"Labels":{"__proto__":"x","constructor":"y","toString":"z","":"e"}}') as { Labels: Record<string, string> };
    assert.deepEqual(Object.keys(v.Labels), ['__proto__', 'constructor', 'toString', '']);
    assert.ok(Object.hasOwn(v.Labels, '__proto__'));
    assert.equal(Object.getOwnPropertyDescriptor(v.Labels, '__proto__')?.value, 'x');
    assert.equal(Object.getPrototypeOf(v.Labels), Object.prototype);
    assert.equal(({} as Record<string, unknown>).x, undefined);
  });

  test('decodeAs drops a struct-level "__proto__" key without touching any prototype', () => {
    const v = decode('{"__proto__":{"Name":"evil"},"Name":"n"}') as Record<string, unknown>;
    assert.deepEqual(v, { Name: 'n' });
    assert.equal(Object.getPrototypeOf(v), Object.prototype);
    assert.equal(({} as Record<string, unknown>).Name, undefined);
  });

  test('decodeAs matches "ſ" (U+017F) to "s" as Go\'s case folding does: "Labelſ" is Labels', () => {
    // dockerd: {"Name":…,"Labelſ":{"c":"3"}} creates a secret with Labels {"c":"3"}.
    assert.deepEqual(decode('{"Labelſ":{"c":"3"}}'), { Labels: { c: '3' } });
  });

  // Keys repeated exactly, which JSON.parse alone collapses (test/e2e/duplicate-keys.test.ts asks
  // a real dockerd the same).
  const repeated: [title: string, json: string, canonical: unknown][] = [
    ['a map given twice merges', '{"Labels":{"a":"1","c":"4"},"Labels":{"b":"2","a":"3"}}', { Labels: { a: '3', c: '4', b: '2' } }],
    ['a null clears a map given before', '{"Labels":{"a":"1"},"Labels":null}', { Labels: null }],
    ['a null leaves a string given before', '{"Name":"a","Name":null}', { Name: 'a' }],
    ['a later string replaces an earlier one', '{"Name":"a","Name":"b"}', { Name: 'b' }],
    ['a null clears a struct held by pointer', '{"Templating":{"Name":"golang"},"Templating":null}', { Templating: null }],
    [
      'a struct given twice keeps what the later one omits',
      '{"Driver":{"Name":"d","Options":{"k":"v"}},"Driver":{"Options":{"j":"w"}}}',
      { Driver: { Name: 'd', Options: { k: 'v', j: 'w' } } },
    ],
    ['a map key given twice keeps its last value', '{"Labels":{"a":"1","a":"2"}}', { Labels: { a: '2' } }],
    ['a repeated key inside a nested struct', '{"Driver":{"Name":"x","Name":"y"}}', { Driver: { Name: 'y' } }],
    ['"__proto__" repeated stays a plain label', '{"Labels":{"__proto__":"1","__proto__":"2"}}', { Labels: JSON.parse('{"__proto__":"2"}') }],
  ];
  for (const [title, json, canonical] of repeated) {
    test(`decodeAs: ${title}`, () => assert.deepEqual(decode(json), canonical));
  }

  test('decodeAs reports a type error in an earlier occurrence of a repeated key', () => {
    assertGoError('{"Name":5,"Name":"x"}', 'json: cannot unmarshal number into Go struct field SecretSpec.Name of type string');
    assertGoError('{"Labels":{"a":1,"a":"x"}}', 'json: cannot unmarshal number into Go struct field SecretSpec.Labels of type string');
    assertGoError('{"Driver":{"Name":true},"Driver":{"Name":"x"}}', 'json: cannot unmarshal bool into Go struct field Driver.Driver.Name of type string');
  });

  test('decodeAs merges a repeated Labels key into one map, as Go reuses the map', () => {
    // dockerd: {"Labels":{"a":"1"},"labels":{"b":"2"}} creates Labels {"a":"1","b":"2"}.
    assert.deepEqual(decode('{"Labels":{"a":"1"},"labels":{"b":"2"}}'), { Labels: { a: '1', b: '2' } });
  });

  test('decodeAs decodes a repeated struct key into the same struct, keeping fields the later one omits', () => {
    // dockerd: Templating {"Name":"golang","Options":{"k":"v"}} then templating {"Name":"golang"} keeps Options.
    assert.deepEqual(decode('{"Templating":{"Name":"golang","Options":{"k":"v"}},"templating":{"Name":"golang"}}'), {
      Templating: { Name: 'golang', Options: { k: 'v' } },
    });
  });

  test('decodeAs hands the canonical value to `before` ahead of validation', () => {
    let seen: unknown;
    assert.throws(() => schemas.decodeAs('secret-spec.json', JSON.parse('{"data":"eA==","Name":5}'), (c) => (seen = c)), GoDecodeError);
    assert.deepEqual(seen, { Data: 'eA==', Name: 5 });
  });
});

describe("decodeAs reports type errors in Go's words", () => {
  const errors: [json: string, message: string][] = [
    ['{"Name":5}', 'json: cannot unmarshal number into Go struct field SecretSpec.Name of type string'],
    ['{"name":5}', 'json: cannot unmarshal number into Go struct field SecretSpec.Name of type string'],
    ['{"Name":true}', 'json: cannot unmarshal bool into Go struct field SecretSpec.Name of type string'],
    ['{"Name":{}}', 'json: cannot unmarshal object into Go struct field SecretSpec.Name of type string'],
    ['{"Name":["a"]}', 'json: cannot unmarshal array into Go struct field SecretSpec.Name of type string'],
    ['{"Labels":{"a":1}}', 'json: cannot unmarshal number into Go struct field SecretSpec.Labels of type string'],
    ['{"Labels":{"a":{}}}', 'json: cannot unmarshal object into Go struct field SecretSpec.Labels of type string'],
    ['{"Labels":[]}', 'json: cannot unmarshal array into Go struct field SecretSpec.Labels of type map[string]string'],
    ['{"Labels":"a=b"}', 'json: cannot unmarshal string into Go struct field SecretSpec.Labels of type map[string]string'],
    ['{"Data":123}', 'json: cannot unmarshal number into Go struct field SecretSpec.Data of type []uint8'],
    ['{"Data":[1,2]}', 'json: cannot unmarshal array into Go struct field SecretSpec.Data of type []uint8'],
    ['{"Driver":"x"}', 'json: cannot unmarshal string into Go struct field SecretSpec.Driver of type swarm.Driver'],
    ['[1]', 'json: cannot unmarshal array into Go value of type swarm.SecretSpec'],
    ['[]', 'json: cannot unmarshal array into Go value of type swarm.SecretSpec'],
    ['"x"', 'json: cannot unmarshal string into Go value of type swarm.SecretSpec'],
    ['5', 'json: cannot unmarshal number into Go value of type swarm.SecretSpec'],
    ['true', 'json: cannot unmarshal bool into Go value of type swarm.SecretSpec'],
    // Go names the innermost struct type, then the whole field path (golang/go#43126): a real
    // dockerd answers "Driver.Driver.Name", not "SecretSpec.Driver.Name".
    ['{"Driver":{"Name":1}}', 'json: cannot unmarshal number into Go struct field Driver.Driver.Name of type string'],
    ['{"Templating":{"Options":{"a":1}}}', 'json: cannot unmarshal number into Go struct field Driver.Templating.Options of type string'],
    // Go reports the first mismatch in the document, not in the schema's property order.
    ['{"Labels":{"a":1},"Name":5}', 'json: cannot unmarshal number into Go struct field SecretSpec.Labels of type string'],
    ['{"Name":5,"Labels":{"a":1}}', 'json: cannot unmarshal number into Go struct field SecretSpec.Name of type string'],
    ['{"Labels":{"a":"x","b":true,"c":1}}', 'json: cannot unmarshal bool into Go struct field SecretSpec.Labels of type string'],
    ['{"Templating":{"Options":{"a":1}},"Driver":{"Name":1}}', 'json: cannot unmarshal number into Go struct field Driver.Templating.Options of type string'],
    ['{"Labels":{"a/b~c":1}}', 'json: cannot unmarshal number into Go struct field SecretSpec.Labels of type string'],
  ];
  for (const [json, message] of errors) {
    test(`decodeAs ${json} fails with "${message}"`, () => assertGoError(json, message));
  }
  // Go keeps the error of a mismatched value even when a later key (any case) sets the field.
  test('decodeAs {"Name":5,"name":"x"} fails as Go does, on the first occurrence', () =>
    assertGoError('{"Name":5,"name":"x"}', 'json: cannot unmarshal number into Go struct field SecretSpec.Name of type string'));

  // A create whose Labels held 16,000 numbers took 41 s to word (an indexOf over every key, per
  // error): the wording is one pass over the document now.
  test('decodeAs words the error for 200,000 non-string labels in one linear pass', () => {
    const labels: Record<string, number> = {};
    for (let i = 0; i < 200_000; i++) labels[`k${i}`] = i;
    const json = JSON.stringify({ Name: 'big', Labels: labels, Driver: { Name: 7 } });
    const t0 = performance.now();
    assertGoError(json, 'json: cannot unmarshal number into Go struct field SecretSpec.Labels of type string');
    const ms = performance.now() - t0;
    assert.ok(ms < 5000, `took ${ms.toFixed(0)} ms`);
  });

  test('decodeAs finds the one bad value at the end of 200,000 good labels, in document order', () => {
    const labels: Record<string, unknown> = {};
    for (let i = 0; i < 200_000; i++) labels[`k${i}`] = 'v';
    labels.last = [1];
    const t0 = performance.now();
    assertGoError(JSON.stringify({ Labels: labels, Name: 5 }), 'json: cannot unmarshal array into Go struct field SecretSpec.Labels of type string');
    assert.ok(performance.now() - t0 < 5000);
  });

  const swarmInit: [json: string, message: string][] = [
    ['{"ListenAddr":1}', 'json: cannot unmarshal number into Go struct field InitRequest.ListenAddr of type string'],
    ['{"DataPathPort":"1"}', 'json: cannot unmarshal string into Go struct field InitRequest.DataPathPort of type uint32'],
    ['{"DataPathPort":-1}', 'json: cannot unmarshal number -1 into Go struct field InitRequest.DataPathPort of type uint32'],
    ['{"DataPathPort":4294967296}', 'json: cannot unmarshal number 4294967296 into Go struct field InitRequest.DataPathPort of type uint32'],
    // Go: strconv.ParseUint fails on "1.5", and the message carries the literal.
    ['{"DataPathPort":1.5}', 'json: cannot unmarshal number 1.5 into Go struct field InitRequest.DataPathPort of type uint32'],
    ['{"ForceNewCluster":"yes"}', 'json: cannot unmarshal string into Go struct field InitRequest.ForceNewCluster of type bool'],
    ['[]', 'json: cannot unmarshal array into Go value of type swarm.InitRequest'],
    ['{"Spec":{"Labels":{"a":1}}}', 'json: cannot unmarshal number into Go struct field Spec.Spec.Labels of type string'],
    ['{"DataPathPort":-1,"ListenAddr":1}', 'json: cannot unmarshal number -1 into Go struct field InitRequest.DataPathPort of type uint32'],
    ['{"DefaultAddrPool":["a",2]}', 'json: cannot unmarshal number into Go struct field InitRequest.DefaultAddrPool of type string'],
  ];
  for (const [json, message] of swarmInit) {
    test(`decodeAs swarm-init.json ${json} fails with "${message}"`, () => assertGoError(json, message, 'swarm-init.json'));
  }
});
