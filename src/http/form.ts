/**
 * Go's `http.Request.ParseForm`, as far as the query goes: dockerd's handlers that call it (the
 * secret and node lists) refuse, before anything else, a query that Go's url.ParseQuery cannot
 * parse, with its error as the message. Keys these routes never read count too.
 */
import type { Context } from 'hono';
import { InvalidRequest } from '../core/errors.ts';
import type { EdgeEnv } from './env.ts';

/** Throws Go's 400 for the request's query, if ParseForm would fail on it. */
export function parseForm(c: Context<EdgeEnv>): void {
  const error = queryError(c.env.target.query);
  if (error !== undefined) throw new InvalidRequest(error);
}

/**
 * The error url.ParseQuery returns for `query` (as sent, without the '?'): the first bad
 * %-escape of a key or value, unless a pair holds a ';' (that error is kept over any other).
 */
export function queryError(query: string): string | undefined {
  let error: string | undefined;
  for (const pair of query.split('&')) {
    if (pair.includes(';')) {
      error = 'invalid semicolon separator in query';
      continue;
    }
    const bad = badEscape(pair);
    if (bad !== undefined && error === undefined) error = `invalid URL escape ${JSON.stringify(bad)}`;
  }
  return error;
}

/** The first '%' not followed by two hex digits, with at most two characters after it (Go's EscapeError). */
function badEscape(s: string): string | undefined {
  for (let i = s.indexOf('%'); i >= 0; i = s.indexOf('%', i + 3)) {
    if (!isHex(s.charCodeAt(i + 1)) || !isHex(s.charCodeAt(i + 2))) return s.slice(i, i + 3);
  }
  return undefined;
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}
