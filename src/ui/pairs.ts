/**
 * `KEY=VALUE` lines, as the console takes labels, driver options and key/value secrets: one pair
 * a line, split at the first `=`, a line without `=` is a key with an empty value (as
 * `docker secret create --label KEY` does), blank lines are skipped, a key given twice is refused.
 */
import { FormError } from './form-error.ts';

export function parsePairs(text: string, what: string): Record<string, string> {
  const pairs = new Map<string, string>();
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '') return;
    const eq = line.indexOf('=');
    const key = (eq < 0 ? line : line.slice(0, eq)).trim();
    const value = eq < 0 ? '' : line.slice(eq + 1);
    if (key === '') throw new FormError(`${what}, line ${i + 1}: a key is missing before "="`);
    if (pairs.has(key)) throw new FormError(`${what}: the key "${key}" is given twice`);
    pairs.set(key, value);
  });
  // fromEntries defines own properties, so a key such as "__proto__" stays an ordinary key.
  return Object.fromEntries(pairs);
}

/** The inverse, for prefilling a textarea. */
export function formatPairs(pairs: Record<string, string>): string {
  return Object.entries(pairs)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n');
}
