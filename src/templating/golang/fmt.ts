/**
 * Go's fmt for template values: Sprint, Sprintln and Sprintf (flags, width, precision and the
 * verbs v s d q x X c t e f g b o U %), including Go's %!verb(type=value) error forms, which
 * go into the output (never into an error message). Every entry point takes `room`, the bytes its
 * result may fill: past it, OverBudget is thrown before the oversized string is built.
 */
import { canBackquote, decodeRune, encodeRune, quote, quoteRune, runeCount, toGo, truncateRunes, formatU } from './bytes.ts';
import { formatFloat } from './fmt-float.ts';
import { fits } from './limits.ts';
import { typeString, sortedEntries, type Complex, type GoValue, type Value, type StructType } from './values.ts';

interface Flags {
  plus: boolean;
  minus: boolean;
  sharp: boolean;
  space: boolean;
  zero: boolean;
  width?: number;
  prec?: number;
}
const NO_FLAGS: Flags = { plus: false, minus: false, sharp: false, space: false, zero: false };

function pad(s: string, f: Flags, zeroOk = f.zero): string {
  const w = f.width ?? 0;
  const n = runeCount(s);
  if (n >= w) return s;
  const fill = (zeroOk && !f.minus ? '0' : ' ').repeat(w - n);
  return f.minus ? s + fill : fill + s;
}

function fmtInteger(v: bigint, verb: string, f: Flags, unsigned: boolean): string {
  const neg = v < 0n;
  let a = neg ? -v : v;
  if (unsigned && neg) a = (1n << 64n) + v;
  let base = 10;
  if (verb === 'b') base = 2;
  else if (verb === 'o' || verb === 'O') base = 8;
  else if (verb === 'x' || verb === 'X') base = 16;
  let digits = a.toString(base);
  if (verb === 'X') digits = digits.toUpperCase();
  let prec = f.prec;
  if (prec === undefined && f.zero && !f.minus && f.width !== undefined) {
    prec = f.width;
    if (neg || f.plus || f.space) prec--;
  }
  if (prec !== undefined) {
    if (prec === 0 && a === 0n) return pad('', { ...f, zero: false });
    digits = digits.padStart(prec, '0');
  }
  if (f.sharp) {
    if (base === 2) digits = '0b' + digits;
    else if (base === 8 && digits[0] !== '0') digits = '0' + digits;
    else if (base === 16) digits = (verb === 'X' ? '0X' : '0x') + digits;
  }
  if (verb === 'O') digits = '0o' + digits;
  const sign = neg && !unsigned ? '-' : f.plus ? '+' : f.space ? ' ' : '';
  return pad(sign + digits, { ...f, zero: false });
}

function fmtFloat(v: number, verb: string, f: Flags): string {
  const fmtChar = verb === 'v' ? 'g' : verb === 'F' ? 'f' : verb;
  let s = formatFloat(v, fmtChar, f.prec ?? (verb === 'v' || verb === 'g' || verb === 'G' ? -1 : 6));
  if (f.plus && !s.startsWith('-') && !s.startsWith('+')) s = '+' + s;
  else if (f.space && !s.startsWith('-') && !s.startsWith('+')) s = ' ' + s;
  else if (s === '+Inf' && !f.plus) s = '+Inf';
  if (/Inf|NaN/.test(s)) return pad(s, { ...f, zero: false });
  if (f.zero && !f.minus && f.width !== undefined && runeCount(s) < f.width) {
    const signed = /^[+\- ]/.test(s);
    const body = signed ? s.slice(1) : s;
    return (signed ? s[0] : '') + body.padStart(f.width - (signed ? 1 : 0), '0');
  }
  return pad(s, { ...f, zero: false });
}

function fmtComplex(c: Complex, verb: string, f: Flags): string {
  const inner = { ...f, width: undefined };
  const re = fmtFloat(c.re, verb, inner);
  const im = fmtFloat(c.im, verb, { ...inner, plus: true });
  return pad(`(${re}${im}i)`, { ...f, zero: false });
}

function fmtString(s: string, verb: string, f: Flags, room: number): string {
  if (f.prec !== undefined) s = truncateRunes(s, f.prec);
  switch (verb) {
    case 'v':
    case 's':
      return pad(s, f);
    case 'q':
      return pad(f.sharp && canBackquote(s) ? '`' + s + '`' : quote(s, f.plus, room), f);
    case 'x':
    case 'X': {
      fits(s.length * 2, room); // at least two digits a byte
      const parts: string[] = [];
      let length = 0;
      const digits = verb === 'X' ? HEX_UPPER : HEX_LOWER;
      for (let i = 0; i < s.length; i++) {
        let piece = '';
        if (f.space && i > 0) piece += ' ';
        if (f.sharp && (f.space || i === 0)) piece += verb === 'X' ? '0X' : '0x';
        piece += digits[s.charCodeAt(i)]!;
        parts.push(piece);
        length += piece.length;
        fits(length, room);
      }
      return pad(parts.join(''), f);
    }
  }
  return badVerb({ type: { kind: 'string' }, v: s }, verb);
}

const HEX_LOWER = Array.from({ length: 0x100 }, (_, c) => c.toString(16).padStart(2, '0'));
const HEX_UPPER = HEX_LOWER.map((h) => h.toUpperCase());

/** Go's %!verb(type=value); the value is printed with %v and the verb's flags. */
function badVerb(v: Value, verb: string, f: Flags = NO_FLAGS, room = Infinity): string {
  if (v === undefined) return `%!${verb}(<nil>)`;
  return `%!${verb}(${typeString(v.type)}=${formatValue(v, 'v', f, 0, room)})`;
}

/** Formats one value for a verb, like fmt's printValue. */
export function formatValue(v: Value, verb: string, f: Flags, depth: number, room = Infinity): string {
  if (v === undefined) return verb === 'v' ? pad('<nil>', f) : badVerb(v, verb, f, room);
  const t = v.type;
  switch (t.kind) {
    case 'bool':
      return verb === 'v' || verb === 't' ? pad(v.v ? 'true' : 'false', f) : badVerb(v, verb, f, room);
    case 'int':
    case 'uint8': {
      const n = v.v as bigint;
      switch (verb) {
        case 'v':
        case 'd':
          return fmtInteger(n, 'd', f, t.kind === 'uint8');
        case 'b':
        case 'o':
        case 'O':
        case 'x':
        case 'X':
          return fmtInteger(n, verb, f, t.kind === 'uint8');
        case 'c':
          return pad(encodeRune(Number(n)), f);
        case 'q':
          return pad(quoteRune(Number(n)), f);
        case 'U':
          return pad(f.sharp ? formatU(Number(n)) : 'U+' + n.toString(16).toUpperCase().padStart(4, '0'), f);
      }
      return badVerb(v, verb, f, room);
    }
    case 'float64':
      return 'veEfFgG'.includes(verb) ? fmtFloat(v.v as number, verb, f) : badVerb(v, verb, f, room);
    case 'complex128':
      return 'veEfFgG'.includes(verb) ? fmtComplex(v.v as Complex, verb, f) : badVerb(v, verb, f, room);
    case 'string':
      return fmtString(v.v as string, verb, f, room);
    case 'map': {
      if (v.v === null) return 'map[]';
      const parts = bounded(room);
      for (const [k, e] of sortedEntries(v.v as Map<string, Value>)) {
        parts.add(`${formatValue({ type: t.key, v: k }, verb, f, depth + 1, parts.left())}:${formatValue(e, verb, f, depth + 1, parts.left())}`);
      }
      return `map[${parts.join(' ')}]`;
    }
    case 'slice': {
      const parts = bounded(room);
      for (const e of (v.v as Value[] | null) ?? []) parts.add(formatValue(e, verb, f, depth + 1, parts.left()));
      return `[${parts.join(' ')}]`;
    }
    case 'struct': {
      const rec = v.v as Record<string, Value>;
      const st = t as StructType;
      // Unexported fields are left out: Go would print internal state (pointers) there.
      const parts = bounded(room);
      for (const fl of st.fields.filter((x) => /^[A-Z]/.test(x.name))) {
        parts.add((f.plus && verb === 'v' ? `${fl.name}:` : '') + formatValue(rec[fl.name], verb, f, depth + 1, parts.left()));
      }
      return `{${parts.join(' ')}}`;
    }
    case 'ptr':
      if (v.v === null) return verb === 'v' ? pad('<nil>', f) : badVerb(undefined, verb);
      if (depth === 0) return '&' + formatValue(v.v as GoValue, verb, f, depth + 1, room);
      return '0xc000010000';
    case 'iface':
      return verb === 'v' ? pad('<nil>', f) : badVerb(undefined, verb);
    default:
      return badVerb(v, verb, f, room);
  }
}

/** Pieces of a result and their total length (separators included), kept within `room`. */
function bounded(room: number) {
  const parts: string[] = [];
  let length = 0;
  return {
    add(piece: string) {
      length += piece.length + (parts.length > 0 ? 1 : 0);
      fits(length, room);
      parts.push(piece);
    },
    /** The room a next piece may fill. */
    left: () => room - length,
    join: (sep: string) => parts.join(sep),
  };
}

const isStringArg = (v: Value) => v !== undefined && v.type.kind === 'string';

/** fmt.Sprint: spaces between operands when neither is a string. */
export function sprint(args: Value[], room = Infinity): string {
  const parts: string[] = [];
  let length = 0;
  args.forEach((a, i) => {
    const piece = (i > 0 && !isStringArg(a) && !isStringArg(args[i - 1]) ? ' ' : '') + formatValue(a, 'v', NO_FLAGS, 0, room - length);
    length += piece.length;
    fits(length, room);
    parts.push(piece);
  });
  return parts.join('');
}

/** fmt.Sprintln: always spaces, then a newline. */
export function sprintln(args: Value[], room = Infinity): string {
  const parts = bounded(room);
  for (const a of args) parts.add(formatValue(a, 'v', NO_FLAGS, 0, parts.left()));
  fits(room - parts.left() + 1, room);
  return parts.join(' ') + '\n';
}

/** fmt.Sprintf. */
export function sprintf(format: string, args: Value[], room = Infinity): string {
  // Every piece is checked against the room as it is added: a format may ask for many
  // million-wide fields, or repeat a huge argument.
  let out = '';
  let length = 0;
  const parts: string[] = [];
  const emit = () => {
    if (out !== '') {
      length += out.length;
      fits(length, room);
      parts.push(out);
      out = '';
    }
  };
  let argNum = 0;
  let i = 0;
  const intArg = (): number | undefined => {
    const a = args[argNum];
    if (a === undefined || (a.type.kind !== 'int' && a.type.kind !== 'uint8')) {
      argNum++;
      return undefined;
    }
    argNum++;
    const n = Number(a.v as bigint);
    return Math.abs(n) > 1e6 ? undefined : n;
  };
  const left = () => room - length - out.length;
  while (i < format.length) {
    emit();
    const pct = format.indexOf('%', i);
    if (pct < 0) {
      out += format.slice(i);
      break;
    }
    out += format.slice(i, pct);
    i = pct + 1;
    const f: Flags = { ...NO_FLAGS };
    for (; i < format.length; i++) {
      const c = format[i];
      if (c === '+') f.plus = true;
      else if (c === '-') {
        f.minus = true;
        f.zero = false;
      } else if (c === '#') f.sharp = true;
      else if (c === ' ') f.space = true;
      else if (c === '0') f.zero = !f.minus;
      else break;
    }
    if (format[i] === '*') {
      i++;
      const w = intArg();
      if (w === undefined) out += '%!(BADWIDTH)';
      else {
        f.width = Math.abs(w);
        if (w < 0) {
          f.minus = true;
          f.zero = false;
        }
      }
    } else {
      const m = /^[0-9]+/.exec(format.slice(i));
      if (m) {
        f.width = Math.min(Number(m[0]), 1e6);
        i += m[0].length;
      }
    }
    if (format[i] === '.') {
      i++;
      if (format[i] === '*') {
        i++;
        const p = intArg();
        if (p === undefined || p < 0) out += '%!(BADPREC)';
        else f.prec = p;
      } else {
        const m = /^[0-9]*/.exec(format.slice(i))!;
        f.prec = Math.min(Number(m[0] || '0'), 1e6);
        i += m[0].length;
      }
    }
    if (i >= format.length) {
      out += '%!(NOVERB)';
      break;
    }
    const [r, w] = decodeRune(format, i);
    const verb = format.slice(i, i + w);
    i += w;
    if (verb === '%') {
      out += '%';
      continue;
    }
    if (argNum >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    const a = args[argNum++];
    if (verb === 'v' && f.sharp) {
      out += goSyntax(a, left());
      continue;
    }
    if (verb === 'T') {
      out += pad(a === undefined ? '<nil>' : typeString(a.type), f);
      continue;
    }
    if (!/^[a-zA-Z]$/.test(verb) || r > 0x7f) {
      out += badVerb(a, verb, f, left());
      continue;
    }
    out += formatValue(a, verb, f, 0, left());
  }
  emit();
  if (argNum < args.length) {
    const extra = bounded(left() - '%!(EXTRA )'.length);
    for (const a of args.slice(argNum)) extra.add(a === undefined ? '<nil>' : `${typeString(a.type)}=${formatValue(a, 'v', NO_FLAGS, 0, extra.left())}`);
    out += '%!(EXTRA ' + extra.join(', ') + ')';
    emit();
  }
  return parts.join('');
}

/** A small %#v: quoted strings, plain numbers and booleans, Go-syntax maps. */
function goSyntax(a: Value, room: number): string {
  if (a === undefined) return '<nil>';
  switch (a.type.kind) {
    case 'string':
      return quote(a.v as string, false, room);
    case 'map': {
      const parts = bounded(room);
      for (const [k, e] of sortedEntries((a.v as Map<string, Value>) ?? new Map())) parts.add(`${quote(k, false, parts.left())}:${goSyntax(e, parts.left())}`);
      return `${typeString(a.type)}{${parts.join(', ')}}`;
    }
    case 'uint8':
      return '0x' + (a.v as bigint).toString(16);
    default:
      return formatValue(a, 'v', NO_FLAGS, 0, room);
  }
}

export { toGo };
