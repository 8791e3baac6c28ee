/**
 * The Engine API's list of all as JSON text, from the store's rendered pages
 * (Store.renderedList): one string when the list is one page, else the pages as they come, so
 * the edge streams a long list instead of building it whole. Parts the store did not render
 * (records) are written by toView, exactly as JSON.stringify(list) would.
 */
import type { SecretRecord } from '../store/records.ts';
import { toView } from './types.ts';

/** A list answer: the whole JSON text, or its pieces in order (their concatenation is that text). */
export type ListText = string | AsyncIterable<string>;

const textOf = (parts: (string | SecretRecord)[]) => parts.map((p) => (typeof p === 'string' ? p : JSON.stringify(toView(p)))).join(',');

export async function listText(pages: AsyncIterable<(string | SecretRecord)[]>): Promise<ListText> {
  const rest = pages[Symbol.asyncIterator]();
  const first = await rest.next();
  if (first.done) return '[]';
  let second: IteratorResult<(string | SecretRecord)[]>;
  try {
    second = await rest.next();
  } catch (e) {
    await rest.return?.();
    throw e;
  }
  if (second.done) return `[${textOf(first.value)}]`;
  const head = [`[${textOf(first.value)}`, `,${textOf(second.value)}`];
  let ended = false;
  // Handed to the consumer as a plain iterator, so that abandoning it (return) ends the store's read.
  return {
    [Symbol.asyncIterator]: () => ({
      async next(): Promise<IteratorResult<string>> {
        const kept = head.shift();
        if (kept !== undefined) return { value: kept, done: false };
        if (ended) return { value: undefined, done: true };
        const page = await rest.next();
        if (!page.done) return { value: `,${textOf(page.value)}`, done: false };
        ended = true;
        return { value: ']', done: false };
      },
      async return(): Promise<IteratorResult<string>> {
        ended = true;
        head.length = 0;
        await rest.return?.();
        return { value: undefined, done: true };
      },
    }),
  };
}
