/**
 * The query as dockerd's handlers read it, with Go's url.ParseQuery: pairs split on '&', keys and
 * values %-decoded with '+' as a space, and a pair that holds a ';' or a bad escape left out (so
 * `version=%zz` reads as no version). The handlers that call ParseForm first (the secret and node
 * lists) refuse such a query instead, with Go's error as the message; keys these routes never
 * read count too.
 */
import type { Context } from 'hono';
import { InvalidRequest } from '../core/errors.ts';
import type { EdgeEnv } from './env.ts';
import { badEscape, goUnescape } from './go-escapes.ts';

/** Throws Go's 400 for the request's query, if ParseForm would fail on it. */
export function parseForm(c: Context<EdgeEnv>): void {
  const error = queryError(c.env.target.query);
  if (error !== undefined) throw new InvalidRequest(error);
}

/** The first value of `key`, as Go's `r.FormValue(key)` and `r.URL.Query().Get(key)` read it (undefined when absent). */
export function formValue(c: Context<EdgeEnv>, key: string): string | undefined {
  return queryValue(c.env.target.query, key);
}

/** The first value of `key` in `query` (as sent, without the '?'), as url.ParseQuery reads it. */
export function queryValue(query: string, key: string): string | undefined {
  for (const pair of query.split('&')) {
    if (pair === '' || pair.includes(';')) continue;
    const eq = pair.indexOf('=');
    const name = goUnescape(eq < 0 ? pair : pair.slice(0, eq), true);
    if (name !== key) continue;
    const value = goUnescape(eq < 0 ? '' : pair.slice(eq + 1), true);
    if (value !== undefined) return value;
  }
  return undefined;
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
