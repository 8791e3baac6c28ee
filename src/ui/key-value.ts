/** Key/value pairs, stored as one JSON object of strings, in the order given: `{"user":"app","port":"5432"}`. */
import { FormError } from './form-error.ts';
import { parsePairs } from './pairs.ts';

export function encodeKeyValue(text: string): string {
  const pairs = parsePairs(text, 'key/value pairs');
  if (Object.keys(pairs).length === 0) throw new FormError('give at least one KEY=VALUE line');
  return JSON.stringify(pairs);
}
