/**
 * The comparison builtins eq ne lt le gt ge with Go's rules: basic kinds compare by value, int
 * and uint mix, anything else must be comparable, and Go's error texts otherwise (without
 * printing the values, so data cannot leak into an error).
 */
import { typeString, isNilValue, type GoValue, type Value, type GoType, type Complex } from './values.ts';

type Kind = 'invalid' | 'bool' | 'complex' | 'int' | 'float' | 'string' | 'uint';

function basicKind(v: Value): Kind {
  switch (v?.type.kind) {
    case 'bool':
      return 'bool';
    case 'int':
      return 'int';
    case 'uint8':
      return 'uint';
    case 'float64':
      return 'float';
    case 'complex128':
      return 'complex';
    case 'string':
      return 'string';
  }
  return 'invalid';
}

function comparable(t: GoType): boolean {
  switch (t.kind) {
    case 'map':
    case 'slice':
      return false;
    case 'struct':
      return t.fields.every((f) => comparable(f.type));
    default:
      return true;
  }
}

function deepEqual(a: Value, b: Value): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.type.kind === 'struct') {
    const ra = a.v as Record<string, Value>;
    const rb = b.v as Record<string, Value>;
    return Object.keys(ra).every((k) => deepEqual(ra[k], rb[k]));
  }
  if (a.type.kind === 'complex128') {
    const ca = a.v as Complex;
    const cb = b.v as Complex;
    return ca.re === cb.re && ca.im === cb.im;
  }
  return a.v === b.v;
}

const num = (v: Value) => v!.v as bigint;

export function eq(arg1: Value, rest: Value[]): boolean {
  if (rest.length === 0) throw new Error('missing argument for comparison');
  const k1 = basicKind(arg1);
  for (const arg of rest) {
    const k2 = basicKind(arg);
    let truth = false;
    if (k1 !== k2) {
      if (k1 === 'int' && k2 === 'uint') truth = num(arg1) >= 0n && num(arg1) === num(arg);
      else if (k1 === 'uint' && k2 === 'int') truth = num(arg) >= 0n && num(arg1) === num(arg);
      else if (arg1 !== undefined && arg !== undefined) throw new Error('incompatible types for comparison');
    } else if (k1 !== 'invalid') {
      truth = deepEqual(arg1, arg);
    } else {
      const a1 = arg1 as Value;
      if (a1 !== undefined && arg !== undefined && a1.type.kind !== arg.type.kind) {
        throw new Error(`non-comparable types: ${typeString(a1.type)} and ${typeString(arg.type)}`);
      }
      if (isNilValue(a1) || isNilValue(arg)) truth = isNilValue(arg) === isNilValue(a1);
      else {
        if (!comparable((arg as GoValue).type)) throw new Error(`non-comparable type ${typeString((arg as GoValue).type)}`);
        truth = deepEqual(a1, arg);
      }
    }
    if (truth) return true;
  }
  return false;
}

export function lt(a: Value, b: Value): boolean {
  const k1 = basicKind(a);
  if (k1 === 'invalid') throw new Error('invalid type for comparison');
  const k2 = basicKind(b);
  if (k2 === 'invalid') throw new Error('invalid type for comparison');
  if (k1 !== k2) {
    if (k1 === 'int' && k2 === 'uint') return num(a) < 0n || num(a) < num(b);
    if (k1 === 'uint' && k2 === 'int') return num(b) >= 0n && num(a) < num(b);
    throw new Error('incompatible types for comparison');
  }
  if (k1 === 'bool' || k1 === 'complex') throw new Error('invalid type for comparison');
  return (a!.v as number | bigint | string) < (b!.v as number | bigint | string);
}

export const le = (a: Value, b: Value) => lt(a, b) || eq(a, [b]);
export const gt = (a: Value, b: Value) => !le(a, b);
export const ge = (a: Value, b: Value) => !lt(a, b);
export const ne = (a: Value, b: Value) => !eq(a, [b]);
