/**
 * Go's predefined template functions (and or not len index slice print printf println html js
 * urlquery call eq ne lt le gt ge) with their Go signatures, which the evaluator uses to check
 * and convert arguments as reflect would.
 */
import { eq, ge, gt, le, lt, ne } from './compare.ts';
import { htmlEscape, jsEscape, urlQueryEscape } from './escape.ts';
import { sprint, sprintf, sprintln } from './fmt.ts';
import {
  BOOL,
  IFACE,
  INT,
  REFLECT_VALUE,
  STRING,
  UINT8,
  bool,
  canBeNil,
  indirect,
  int,
  isTrue,
  lengthOf,
  typeString,
  zero,
  type GoType,
  type GoValue,
  type Value,
} from './values.ts';

/** A callable with a Go signature. `call` throws a plain Error for Go's returned error. */
export interface GoFunc {
  params: GoType[];
  /** Element type of a trailing variadic parameter. */
  variadic?: GoType;
  /**
   * `room`: the bytes a new string result may take (the render's allocation budget left); a
   * function that builds one throws OverBudget rather than pass it.
   */
  call(args: Value[], room: number): Value | Promise<Value>;
  /** The result is a newly built value, charged to the render's allocation budget. */
  fresh?: boolean;
}

const truth = (v: Value) => isTrue(v)[0];

function indexArg(index: Value, cap: number): number {
  if (index === undefined) throw new Error('cannot index slice/array with nil');
  if (index.type.kind !== 'int' && index.type.kind !== 'uint8') {
    throw new Error(`cannot index slice/array with type ${typeString(index.type)}`);
  }
  const x = index.v as bigint;
  if (x < 0n || x > BigInt(cap)) throw new Error(`index out of range: ${x}`);
  return Number(x);
}

function index(item: Value, indexes: Value[]): Value {
  if (item === undefined) throw new Error('index of untyped nil');
  for (const ix of indexes) {
    const [it, isNil] = indirect(item);
    if (isNil) throw new Error('index of nil pointer');
    const v = it as GoValue;
    switch (v.type.kind) {
      case 'string':
      case 'slice': {
        const len = lengthOf(v);
        const x = indexArg(ix, len);
        if (x === len) throw new Error(`reflect: ${v.type.kind === 'string' ? 'string' : 'slice'} index out of range`);
        item = v.type.kind === 'string' ? { type: UINT8, v: BigInt((v.v as string).charCodeAt(x)) } : (v.v as Value[])[x];
        break;
      }
      case 'map': {
        const keyType = (v.type as { key: GoType }).key;
        const elemType = (v.type as { elem: GoType }).elem;
        if (ix === undefined) {
          if (!canBeNil(keyType)) throw new Error(`value is nil; should be of type ${typeString(keyType)}`);
        } else if (typeString(ix.type) !== typeString(keyType)) {
          throw new Error(`value has type ${typeString(ix.type)}; should be ${typeString(keyType)}`);
        }
        const m = v.v as Map<string, Value> | null;
        const key = ix?.v as string;
        item = m?.has(key) ? m.get(key) : zero(elemType);
        break;
      }
      default:
        throw new Error(`can't index item of type ${typeString(v.type)}`);
    }
  }
  return item;
}

function slice(item: Value, indexes: Value[]): Value {
  if (item === undefined) throw new Error('slice of untyped nil');
  if (indexes.length > 3) throw new Error(`too many slice indexes: ${indexes.length}`);
  const kind = item.type.kind;
  if (kind === 'string' && indexes.length === 3) throw new Error('cannot 3-index slice a string');
  if (kind !== 'string' && kind !== 'slice') throw new Error(`can't slice item of type ${typeString(item.type)}`);
  const len = lengthOf(item);
  const idx = [0, len, len];
  indexes.forEach((ix, i) => {
    idx[i] = indexArg(ix, len);
  });
  if (idx[0]! > idx[1]!) throw new Error(`invalid slice index: ${idx[0]} > ${idx[1]}`);
  if (indexes.length === 3 && idx[1]! > idx[2]!) throw new Error(`invalid slice index: ${idx[1]} > ${idx[2]}`);
  if (kind === 'string') return { type: STRING, v: (item.v as string).slice(idx[0], idx[1]) };
  return { type: item.type, v: ((item.v as Value[] | null) ?? []).slice(idx[0], idx[1]) };
}

function length(item: Value): Value {
  const [v, isNil] = indirect(item);
  if (isNil) throw new Error('len of nil pointer');
  if (v === undefined) throw new Error('reflect: call of reflect.Value.Type on zero Value');
  if (v.type.kind === 'string' || v.type.kind === 'map' || v.type.kind === 'slice') return int(lengthOf(v));
  throw new Error(`len of type ${typeString(v.type)}`);
}

/** html, js and urlquery take their input as fmt.Sprint of the arguments (one string as is). */
function evalArgs(args: Value[], room: number): string {
  if (args.length === 1 && args[0]?.type.kind === 'string') return args[0].v as string;
  return sprint(args, room);
}

const S = (s: string): Value => ({ type: STRING, v: s });
const RV = REFLECT_VALUE;

/** Marks a derived value as secret when any input was (print, printf, slice, index, …). */
export function taint(result: Value, args: Value[]): Value {
  if (result && args.some((a) => a?.secret)) return { ...result, secret: true };
  return result;
}

const tainting = (fn: GoFunc): GoFunc => ({ ...fn, call: async (args, room) => taint(await fn.call(args, room), args) });

const PLAIN: Record<string, GoFunc> = {
  and: { params: [RV], variadic: RV, call: () => undefined }, // short-circuit, done by the evaluator
  or: { params: [RV], variadic: RV, call: () => undefined },
  not: { params: [RV], call: ([a]) => bool(!truth(a)) },
  len: { params: [RV], call: ([a]) => length(a) },
  index: { params: [RV], variadic: RV, call: ([a, ...rest]) => index(a, rest) },
  slice: { params: [RV], variadic: RV, call: ([a, ...rest]) => slice(a, rest) },
  call: {
    params: [RV],
    variadic: RV,
    call: ([fn]) => {
      if (fn === undefined) throw new Error('call of nil');
      throw new Error(`non-function of type ${typeString(fn.type)}`);
    },
  },
  // The builders: each result is new, bounded by `room` while it is built.
  print: { params: [], variadic: IFACE, fresh: true, call: (args, room) => S(sprint(args, room)) },
  println: { params: [], variadic: IFACE, fresh: true, call: (args, room) => S(sprintln(args, room)) },
  printf: { params: [STRING], variadic: IFACE, fresh: true, call: ([f, ...args], room) => S(sprintf(f!.v as string, args, room)) },
  html: { params: [], variadic: IFACE, fresh: true, call: (args, room) => S(htmlEscape(evalArgs(args, room), room)) },
  js: { params: [], variadic: IFACE, fresh: true, call: (args, room) => S(jsEscape(evalArgs(args, room), room)) },
  urlquery: { params: [], variadic: IFACE, fresh: true, call: (args, room) => S(urlQueryEscape(evalArgs(args, room), room)) },
  eq: { params: [RV], variadic: RV, call: ([a, ...rest]) => bool(eq(a, rest)) },
  ne: { params: [RV, RV], call: ([a, b]) => bool(ne(a, b)) },
  lt: { params: [RV, RV], call: ([a, b]) => bool(lt(a, b)) },
  le: { params: [RV, RV], call: ([a, b]) => bool(le(a, b)) },
  gt: { params: [RV, RV], call: ([a, b]) => bool(gt(a, b)) },
  ge: { params: [RV, RV], call: ([a, b]) => bool(ge(a, b)) },
};

export const BUILTINS: Record<string, GoFunc> = Object.fromEntries(
  Object.entries(PLAIN).map(([name, fn]) => [name, ['and', 'or'].includes(name) ? fn : tainting(fn)]),
);

export { BOOL, INT };
