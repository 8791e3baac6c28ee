/**
 * Repeated object keys, which JSON.parse collapses into the last one. Go's encoding/json decodes
 * every occurrence in document order. A repeated struct field is decoded again into the same
 * value, so two Labels maps merge. Each occurrence's type is checked, so a number in an earlier
 * "Name" fails the request even though a later one is a string. To keep what Go sees,
 * `markDuplicateKeys` renames the second and later occurrences of a key within one object to
 * distinct marked keys. JSON.parse then keeps them all, in order, and `realKey` gives a marked
 * key's name back. A client cannot forge a mark: it carries a random part chosen at start-up
 * and never shown.
 */
import { randomBytes } from 'node:crypto';

/** Starts every marked key: NUL, the process's random part, a colon. */
const MARK = `\u0000${randomBytes(12).toString('hex')}:`;
/** The same mark as JSON text writes it inside a string. */
const MARK_IN_JSON = JSON.stringify(MARK).slice(1, -1);

/** The key an object member was given in the document: a marked key's own name, or `key` itself. */
export function realKey(key: string): string {
  if (key.charCodeAt(0) !== 0 || !key.startsWith(MARK)) return key;
  return key.slice(key.indexOf(':', MARK.length) + 1);
}

/** Whether object `o` has a marked key of its own (a key repeated in it). */
export function holdsMarkedKeys(o: object): boolean {
  for (const k in o) if (k.charCodeAt(0) === 0 && k.startsWith(MARK)) return true;
  return false;
}

/** Parsed values whose text had a repeated key (their objects hold marked keys). */
const MARKED = new WeakSet<object>();

export function hasMarkedKeys(value: unknown): boolean {
  return typeof value === 'object' && value !== null && MARKED.has(value);
}

/**
 * `parsed`, JSON.parse of valid JSON `text`, or, if a key of one of its objects repeats, the
 * text parsed again with the repeats kept under marked keys (`hasMarkedKeys` is then true of it).
 */
export function keepingDuplicates(text: string, parsed: unknown): unknown {
  if (typeof parsed !== 'object' || parsed === null) return parsed;
  const marked = markDuplicateKeys(text);
  if (marked === undefined) return parsed;
  const value = JSON.parse(marked) as object;
  MARKED.add(value);
  return value;
}

/**
 * The text of valid JSON `text` with the second and later occurrences of a key in the same object
 * renamed to marked keys; undefined when no key repeats. One pass over the text. Each open
 * object has a Set of the keys it has seen so far, made at its second key.
 */
export function markDuplicateKeys(text: string): string | undefined {
  // One frame per open container: for an object, the keys it has seen, and whether a key comes next.
  const frames: { object: boolean; keys: Set<string> | undefined; first: string | undefined; keyNext: boolean }[] = [];
  let out: string[] | undefined;
  let copied = 0;
  let repeats = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      const start = i;
      i = closingQuote(text, i);
      const frame = frames[frames.length - 1];
      if (!frame?.object || !frame.keyNext) continue;
      frame.keyNext = false;
      const inner = text.slice(start + 1, i);
      const key = inner.includes('\\') ? (JSON.parse(text.slice(start, i + 1)) as string) : inner;
      if (frame.first === undefined) {
        frame.first = key;
        continue;
      }
      frame.keys ??= new Set([frame.first]);
      if (!frame.keys.has(key)) {
        frame.keys.add(key);
        continue;
      }
      out ??= [];
      out.push(text.slice(copied, start + 1), `${MARK_IN_JSON}${++repeats}:`, inner);
      copied = i;
    } else if (c === 0x7b) frames.push({ object: true, keys: undefined, first: undefined, keyNext: true });
    else if (c === 0x5b) frames.push({ object: false, keys: undefined, first: undefined, keyNext: false });
    else if (c === 0x7d || c === 0x5d) frames.pop();
    else if (c === 0x2c) {
      const frame = frames[frames.length - 1];
      if (frame?.object) frame.keyNext = true;
    }
  }
  if (!out) return undefined;
  out.push(text.slice(copied));
  return out.join('');
}

/** Where the string opened at `open` ends: the next quote not escaped by an odd run of backslashes. */
function closingQuote(text: string, open: number): number {
  for (let end = text.indexOf('"', open + 1); ; end = text.indexOf('"', end + 1)) {
    if (end < 0) return text.length; // not valid JSON: the caller promised it would be
    let backslashes = 0;
    while (text.charCodeAt(end - 1 - backslashes) === 0x5c) backslashes++;
    if (backslashes % 2 === 0) return end;
  }
}
