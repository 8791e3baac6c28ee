/**
 * The JSON Schemas in spec/ are the single source of truth for request shapes. One Ajv
 * instance loads every file there once at start-up; validators are compiled once, by `$id`.
 *
 * `decodeAs` replays Go's encoding/json on an already parsed value, driven by the schema:
 * object keys match property names case-insensitively, unknown keys are dropped, null is the
 * zero value, a field given twice is decoded twice (keys repeated in the text come marked,
 * src/core/json-duplicates.ts), and the first type mismatch in the document is reported in Go's
 * words with the `x-go-type` annotations.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { hasMarkedKeys, holdsMarkedKeys, realKey } from './core/json-duplicates.ts';
import { PACKAGE_ROOT } from './core/package-root.ts';

export const SPEC_DIR = join(PACKAGE_ROOT, 'spec');

type Schema = Record<string, any>;

/** What decoding needs from a schema: property names by lower case, and the map value shape. */
interface Shape {
  goType?: string;
  /** Go holds it as a map, a slice or a pointer: a null clears it (elsewhere a null leaves the value as it was). */
  nullable: boolean;
  /** The schema's JSON types (`type`), and the bounds of a number, for the document-order check. */
  types?: string[];
  minimum?: number;
  maximum?: number;
  properties?: Map<string, { name: string; shape: Shape }>;
  additional?: Shape;
  items?: Shape;
}

export class SchemaRegistry {
  private readonly ajv = new Ajv({ strict: true, allowUnionTypes: true });
  /** The same schemas, reporting every error: used only to word a failure. */
  private readonly allErrors = new Ajv({ strict: true, allowUnionTypes: true, allErrors: true });
  private readonly validators = new Map<string, ValidateFunction>();
  private readonly shapes = new Map<string, Shape>();
  private readonly raw = new Map<string, Schema>();

  constructor(dir: string = SPEC_DIR) {
    for (const ajv of [this.ajv, this.allErrors]) {
      ajv.addKeyword({ keyword: 'x-go-type', schemaType: 'string' });
      ajv.addKeyword({ keyword: 'x-go-pointer', schemaType: 'boolean' });
      ajv.addKeyword({ keyword: 'x-keys', schemaType: 'array' });
    }
    for (const file of readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .sort()) {
      const schema = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Schema;
      if (schema.$id !== file) throw new Error(`spec/${file}: $id must be "${file}" (found ${JSON.stringify(schema.$id)})`);
      this.raw.set(file, schema);
      this.ajv.addSchema(schema);
      this.allErrors.addSchema(schema);
    }
  }

  /** The compiled validator for `$id` (or `$id#/pointer`), compiled on first use and kept. */
  validator(ref: string): ValidateFunction {
    let v = this.validators.get(ref);
    if (!v) {
      v = this.ajv.getSchema(ref);
      if (!v) throw new Error(`no schema ${ref} in spec/`);
      this.validators.set(ref, v);
    }
    return v;
  }

  /** The raw schema document, for annotations such as `x-keys`. */
  schema(id: string): Schema {
    const s = this.raw.get(id);
    if (!s) throw new Error(`no schema ${id} in spec/`);
    return s;
  }

  /**
   * Decodes `value` into the shape of schema `id` as Go's json.Unmarshal would: returns the
   * canonical value, or throws a `GoDecodeError` with Go's message.
   */
  decodeAs(id: string, value: unknown, before?: (canonical: any) => void): unknown {
    const shape = this.shape(id);
    const marked = hasMarkedKeys(value);
    const canonical = canonicalize(value, shape, marked);
    before?.(canonical);
    // The mismatch Go would meet first: one pass over the document as given, every occurrence of
    // a repeated key included, that stops there (a map of 100,000 bad labels costs one look);
    // ajv then checks the rest, and words a failure of a keyword the walk does not model from
    // every error it finds.
    const first = firstMismatch(value, shape, marked);
    if (first) throw new GoDecodeError(goMessage(first, value, this.schema(id), first));
    if (!this.validator(id)(canonical)) {
      const all = this.allErrors.getSchema(id)!;
      all(canonical);
      throw new GoDecodeError(goMessage(firstInDocument(all.errors ?? [], canonical), canonical, this.schema(id)));
    }
    return canonical;
  }

  private shape(id: string): Shape {
    let s = this.shapes.get(id);
    if (!s) {
      const root = this.schema(id);
      s = toShape(root, root);
      this.shapes.set(id, s);
    }
    return s;
  }
}

export class GoDecodeError extends Error {}

function resolve(schema: Schema, root: Schema): Schema {
  if (typeof schema.$ref !== 'string') return schema;
  const ref = schema.$ref as string;
  if (!ref.startsWith('#/')) throw new Error(`only local $ref is supported by decodeAs: ${ref}`);
  return resolve(
    ref
      .slice(2)
      .split('/')
      .reduce((s: Schema, k) => s[k], root),
    root,
  );
}

function toShape(schema: Schema, root: Schema): Shape {
  const s = resolve(schema, root);
  const goType = s['x-go-type'] as string | undefined;
  const shape: Shape = { goType, nullable: s['x-go-pointer'] === true || /^(map\[|\[\])/.test(goType ?? '') };
  if (s.type !== undefined) shape.types = ([] as string[]).concat(s.type);
  if (typeof s.minimum === 'number') shape.minimum = s.minimum;
  if (typeof s.maximum === 'number') shape.maximum = s.maximum;
  if (s.properties) {
    shape.properties = new Map(
      Object.entries(s.properties as Schema).map(([name, sub]) => [name.toLowerCase(), { name, shape: toShape(sub as Schema, root) }]),
    );
  }
  if (s.additionalProperties && typeof s.additionalProperties === 'object') shape.additional = toShape(s.additionalProperties, root);
  if (s.items) shape.items = toShape(s.items, root);
  return shape;
}

/**
 * Go matches keys to fields with Unicode simple folding. Field names are ASCII, so only the
 * characters that fold to ASCII letters matter: the long s (U+017F) and the Kelvin sign (U+212A).
 */
function foldKey(k: string): string {
  return k
    .replace(/\u017f/g, 's')
    .replace(/\u212a/g, 'k')
    .toLowerCase();
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Struct keys match case-insensitively and unknown keys go; maps keep their keys. A field given
 * again is decoded again into what the earlier occurrence left, as Go does: maps merge, structs
 * keep the fields the later one omits, a null clears what Go holds by pointer, map or slice and
 * leaves anything else, other values replace. In a map, a repeated key's last value wins.
 * `marked`: the value's objects may hold marked keys (src/core/json-duplicates.ts).
 */
function canonicalize(value: unknown, shape: Shape, marked: boolean, into?: unknown): unknown {
  if (!isPlainObject(value)) return value;
  if (shape.properties) {
    // A Map, then Object.fromEntries: own properties, so a "__proto__" key stays a plain key.
    const out = new Map<string, unknown>(isPlainObject(into) ? Object.entries(into) : []);
    for (const [k, v] of Object.entries(value)) {
      const prop = shape.properties.get(foldKey(marked ? realKey(k) : k));
      if (!prop) continue;
      const given = out.has(prop.name);
      if (v === null && given && !prop.shape.nullable) continue;
      out.set(prop.name, canonicalize(v, prop.shape, marked, given ? out.get(prop.name) : undefined));
    }
    return Object.fromEntries(out);
  }
  if (shape.additional) {
    const additional = shape.additional;
    // A map of plain values (map[string]string) is already canonical, unless a key repeats in it:
    // copying a map of 100,000 labels key by key costs V8 a lot for nothing.
    const plain = !additional.properties && !additional.additional;
    if (plain && into === undefined && !(marked && holdsMarkedKeys(value))) return value;
    const out = new Map<string, unknown>(isPlainObject(into) ? Object.entries(into) : []);
    for (const [k, v] of Object.entries(value)) out.set(marked ? realKey(k) : k, canonicalize(v, additional, marked));
    return Object.fromEntries(out);
  }
  return value;
}

function jsonKind(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'boolean') return 'bool';
  return typeof v; // string, number, object
}

/**
 * Go: "json: cannot unmarshal number into Go struct field SecretSpec.Labels of type string".
 * The struct named is the innermost one holding the field; the field path starts at the top
 * (so a bad `Driver.Name` reads "Go struct field Driver.Driver.Name").
 */
function goMessage(err: Pick<ErrorObject, 'instancePath'> | undefined, value: unknown, root: Schema, found?: Mismatch): string {
  if (!err) return 'json: invalid value';
  const rootType = (root['x-go-type'] as string | undefined) ?? 'value';
  if (err.instancePath === '') return `json: cannot unmarshal ${jsonKind(value)} into Go value of type ${rootType}`;
  // Walk the schema along the instance path: property names build Go's field path, map keys do not.
  const fields: string[] = [];
  let struct = rootType;
  let schema: Schema = root;
  let node: unknown = value;
  for (const raw of err.instancePath.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    schema = resolve(schema, root);
    if (schema.properties && Object.hasOwn(schema.properties, key)) {
      struct = (schema['x-go-type'] as string | undefined) ?? struct;
      fields.push(key);
      schema = schema.properties[key];
    } else if (schema.additionalProperties && typeof schema.additionalProperties === 'object') schema = schema.additionalProperties;
    else if (schema.items) schema = schema.items;
    if (!found) node = (node as Record<string, unknown>)[key];
  }
  if (found) node = found.node; // the occurrence that failed, which a later one may have replaced
  schema = resolve(schema, root);
  const goType = (schema['x-go-type'] as string | undefined) ?? 'value';
  // Go quotes the literal when a number does not fit an integer type.
  const integer = ([] as unknown[]).concat(schema.type).includes('integer');
  const what = typeof node === 'number' && integer ? `number ${node}` : jsonKind(node);
  return `json: cannot unmarshal ${what} into Go struct field ${struct.replace(/^.*\./, '')}.${fields.join('.')} of type ${goType}`;
}

const JSON_TYPE: Record<string, (v: unknown) => boolean> = {
  null: (v) => v === null,
  boolean: (v) => typeof v === 'boolean',
  string: (v) => typeof v === 'string',
  number: (v) => typeof v === 'number',
  integer: (v) => typeof v === 'number' && Number.isInteger(v),
  array: (v) => Array.isArray(v),
  object: (v) => isPlainObject(v),
};

/**
 * The first value, in document order (Go's decode order), whose JSON type or numeric bound the
 * shape refuses; undefined if there is none. One pass that stops at the first mismatch; it
 * recurses only where the schema has children, so its depth is the schema's, not the document's.
 */
function firstMismatch(doc: unknown, root: Shape, marked: boolean): Mismatch | undefined {
  const path: string[] = [];
  let node: unknown;
  const bad = (value: unknown, shape: Shape): boolean => {
    node = value;
    if (shape.types && !shape.types.some((t) => JSON_TYPE[t]?.(value))) return true;
    if (typeof value === 'number' && ((shape.minimum !== undefined && value < shape.minimum) || (shape.maximum !== undefined && value > shape.maximum)))
      return true;
    if (Array.isArray(value)) {
      if (!shape.items) return false;
      for (let i = 0; i < value.length; i++) {
        path.push(String(i));
        if (bad(value[i], shape.items)) return true;
        path.pop();
      }
    } else if (isPlainObject(value) && (shape.properties || shape.additional)) {
      for (const k of Object.keys(value)) {
        const key = marked ? realKey(k) : k;
        // The path names a struct's field as the schema does, whatever case the document used.
        const prop = shape.properties?.get(foldKey(key));
        const sub = shape.properties ? prop?.shape : shape.additional;
        if (!sub) continue;
        path.push(prop ? prop.name : key);
        if (bad(value[k], sub)) return true;
        path.pop();
      }
    }
    return false;
  };
  if (!bad(doc, root)) return undefined;
  return { instancePath: path.map((k) => `/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`).join(''), node };
}

/** Where the first mismatch is, with the schema's names for struct fields, and the value found there. */
interface Mismatch extends Pick<ErrorObject, 'instancePath'> {
  node: unknown;
}

/**
 * Go reports the first mismatch in document order; ajv stops at the first in schema order.
 * Linear in the document and the errors: each container's key positions are indexed once (a
 * map of 16,000 bad labels used to cost an indexOf over all its keys per error), and each
 * error's position is computed once.
 */
function firstInDocument(errors: ErrorObject[], doc: unknown): ErrorObject | undefined {
  const positions = new WeakMap<object, Map<string, number>>();
  const positionIn = (node: object, key: string): number => {
    if (Array.isArray(node)) return Number(key);
    let index = positions.get(node);
    if (!index) {
      index = new Map();
      let i = 0;
      for (const k of Object.keys(node)) index.set(k, i++);
      positions.set(node, index);
    }
    return index.get(key) ?? -1;
  };
  const order = (path: string): number[] => {
    const out: number[] = [];
    let node: unknown = doc;
    for (const raw of path.split('/').slice(1)) {
      const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
      if (!node || typeof node !== 'object') break;
      out.push(positionIn(node, key));
      node = (node as Record<string, unknown>)[key];
    }
    return out;
  };
  const before = (a: number[], b: number[]) => {
    for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! < b[i]!;
    return a.length < b.length;
  };
  let best: ErrorObject | undefined;
  let bestOrder: number[] = [];
  for (const e of errors) {
    if (e.keyword === 'anyOf' || e.keyword === 'oneOf') continue;
    const o = order(e.instancePath);
    if (!best || before(o, bestOrder)) [best, bestOrder] = [e, o];
  }
  return best;
}
