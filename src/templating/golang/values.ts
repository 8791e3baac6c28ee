/**
 * Typed Go values for the evaluator: each value carries its Go type, because Go's template
 * semantics (truth, comparison, printing, argument checks, error texts) follow reflect kinds.
 * Strings are Go byte strings; ints are bigints (Go's int is 64-bit).
 */

export type GoType =
  | { kind: 'string' | 'int' | 'uint8' | 'float64' | 'complex128' | 'bool' | 'iface' | 'reflect.Value' }
  | { kind: 'map'; key: GoType; elem: GoType }
  | { kind: 'slice'; elem: GoType }
  | { kind: 'ptr'; elem: GoType }
  | StructType;

export interface StructType {
  kind: 'struct';
  /** Named type (e.g. `template.Platform`); anonymous structs print their field list. */
  name?: string;
  fields: { name: string; type: GoType; embedded?: boolean }[];
  /** Methods callable from the template (pointer-receiver methods included). */
  methods?: Record<string, GoMethod>;
}

/** A method: Go string parameters, (string, error) result. */
export interface GoMethod {
  params: number;
  call(receiver: GoValue, args: string[]): Promise<string>;
}

export interface Complex {
  re: number;
  im: number;
}

/**
 * A valid Go value; `undefined` stands for Go's invalid (zero) reflect.Value. `secret` marks
 * values derived from a sensitive function (Swarm's `secret`), so errors can redact them.
 */
export interface GoValue {
  type: GoType;
  v: unknown;
  secret?: boolean;
}
export type Value = GoValue | undefined;

export const STRING: GoType = { kind: 'string' };
export const INT: GoType = { kind: 'int' };
export const UINT8: GoType = { kind: 'uint8' };
export const FLOAT64: GoType = { kind: 'float64' };
export const COMPLEX128: GoType = { kind: 'complex128' };
export const BOOL: GoType = { kind: 'bool' };
export const IFACE: GoType = { kind: 'iface' };
export const REFLECT_VALUE: GoType = { kind: 'reflect.Value' };

export const str = (s: string): GoValue => ({ type: STRING, v: s });
export const int = (n: bigint | number): GoValue => ({ type: INT, v: BigInt(n) });
export const bool = (b: boolean): GoValue => ({ type: BOOL, v: b });

/** Go's reflect.Type.String(). */
export function typeString(t: GoType): string {
  switch (t.kind) {
    case 'iface':
      return 'interface {}';
    case 'map':
      return `map[${typeString(t.key)}]${typeString(t.elem)}`;
    case 'slice':
      return `[]${typeString(t.elem)}`;
    case 'ptr':
      return `*${typeString(t.elem)}`;
    case 'struct':
      if (t.name) return t.name;
      return t.fields.length === 0 ? 'struct {}' : `struct { ${t.fields.map((f) => `${f.name} ${typeString(f.type)}`).join('; ')} }`;
    default:
      return t.kind;
  }
}

export function sameType(a: GoType, b: GoType): boolean {
  return a === b || typeString(a) === typeString(b);
}

/** Go's assignability for the types we model: identical, or anything to interface {}. */
export function assignable(from: GoType, to: GoType): boolean {
  return to.kind === 'iface' || sameType(from, to);
}

export function canBeNil(t: GoType): boolean {
  return ['map', 'slice', 'ptr', 'iface', 'reflect.Value'].includes(t.kind);
}

/** Go's reflect.Zero for the kinds we model; nil-able kinds give a nil of that type. */
export function zero(t: GoType): GoValue {
  switch (t.kind) {
    case 'string':
      return { type: t, v: '' };
    case 'int':
    case 'uint8':
      return { type: t, v: 0n };
    case 'float64':
      return { type: t, v: 0 };
    case 'complex128':
      return { type: t, v: { re: 0, im: 0 } };
    case 'bool':
      return { type: t, v: false };
    case 'struct':
      return { type: t, v: Object.fromEntries(t.fields.map((f) => [f.name, zero(f.type)])) };
    default:
      return { type: t, v: null };
  }
}

export function isNilValue(v: Value): boolean {
  return v === undefined || (canBeNil(v.type) && v.v === null);
}

/** Follows pointers (Go's indirect): [value, isNil]. */
export function indirect(v: Value): [Value, boolean] {
  while (v && v.type.kind === 'ptr') {
    if (v.v === null) return [v, true];
    v = v.v as GoValue;
  }
  return [v, false];
}

/** Length of a string, map or slice value. */
export function lengthOf(v: GoValue): number {
  if (v.type.kind === 'string') return (v.v as string).length;
  if (v.type.kind === 'map') return v.v === null ? 0 : (v.v as Map<string, Value>).size;
  if (v.type.kind === 'slice') return v.v === null ? 0 : (v.v as Value[]).length;
  return 0;
}

/** Go's isTrue: [truth, ok]. */
export function isTrue(v: Value): [boolean, boolean] {
  if (v === undefined) return [false, true];
  switch (v.type.kind) {
    case 'string':
    case 'map':
    case 'slice':
      return [lengthOf(v) > 0, true];
    case 'bool':
      return [v.v as boolean, true];
    case 'int':
    case 'uint8':
      return [(v.v as bigint) !== 0n, true];
    case 'float64':
      return [(v.v as number) !== 0, true];
    case 'complex128': {
      const c = v.v as Complex;
      return [c.re !== 0 || c.im !== 0, true];
    }
    case 'ptr':
    case 'iface':
      return [v.v !== null, true];
    case 'struct':
      return [true, true];
    default:
      return [false, false];
  }
}

const SORTED = new WeakMap<Map<string, Value>, [string, Value][]>();

/**
 * Map entries sorted as Go's fmtsort sorts string keys (byte order). Template maps never
 * change, so each is sorted once: a range nested in a range no longer sorts the inner map on
 * every outer iteration.
 */
export function sortedEntries(m: Map<string, Value>): [string, Value][] {
  let sorted = SORTED.get(m);
  if (!sorted) {
    sorted = [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    SORTED.set(m, sorted);
  }
  return sorted;
}

/** Field lookup with embedded-struct promotion, like reflect's FieldByName. */
export function findField(t: StructType, name: string): { path: string[]; type: GoType } | undefined {
  for (const f of t.fields) if (f.name === name) return { path: [f.name], type: f.type };
  for (const f of t.fields) {
    if (f.embedded && f.type.kind === 'struct') {
      const inner = findField(f.type, name);
      if (inner) return { path: [f.name, ...inner.path], type: inner.type };
    }
  }
  return undefined;
}

/** Converts plain JSON-like data to Go values: objects become map[string]interface {}. */
export function fromJS(x: unknown, toGo: (s: string) => string): Value {
  if (x === null || x === undefined) return undefined;
  if (typeof x === 'string') return str(toGo(x));
  if (typeof x === 'boolean') return bool(x);
  if (typeof x === 'bigint') return int(x);
  if (typeof x === 'number') return Number.isInteger(x) ? int(x) : { type: FLOAT64, v: x };
  if (Array.isArray(x)) return { type: { kind: 'slice', elem: IFACE }, v: x.map((e) => fromJS(e, toGo)) };
  if (isGoValue(x)) return x;
  const m = new Map<string, Value>();
  for (const [k, v] of Object.entries(x as object)) m.set(toGo(k), fromJS(v, toGo));
  return { type: { kind: 'map', key: STRING, elem: IFACE }, v: m };
}

export function isGoValue(x: unknown): x is GoValue {
  return (
    typeof x === 'object' && x !== null && 'type' in x && 'v' in x && typeof (x as GoValue).type === 'object' && typeof (x as GoValue).type.kind === 'string'
  );
}

/** Whether a Go identifier is exported (its first rune is upper case). */
export function isUpperFirst(name: string): boolean {
  const c = name.codePointAt(0) ?? 0;
  return c < 0x80 ? c >= 0x41 && c <= 0x5a : /^\p{Lu}/u.test(String.fromCodePoint(c));
}
