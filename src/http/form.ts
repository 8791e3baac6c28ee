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
    const name = queryUnescape(eq < 0 ? pair : pair.slice(0, eq));
    if (name !== key) continue;
    const value = queryUnescape(eq < 0 ? '' : pair.slice(eq + 1));
    if (value !== undefined) return value;
  }
  return undefined;
}

/** url.QueryUnescape: '+' is a space, %XX a byte (UTF-8 read with U+FFFD for what is not); undefined for a bad escape. */
function queryUnescape(s: string): string | undefined {
  const spaced = s.includes('+') ? s.replaceAll('+', ' ') : s;
  if (!s.includes('%')) return spaced;
  if (badEscape(s) !== undefined) return undefined;
  try {
    return decodeURIComponent(spaced); // the common case, native: escapes of UTF-8
  } catch {
    // Bytes that are not UTF-8: decoded one by one below.
  }
  const parts: Buffer[] = [];
  let from = 0;
  for (let i = s.indexOf('%'); i >= 0; i = s.indexOf('%', from)) {
    parts.push(Buffer.from(s.slice(from, i).replaceAll('+', ' '), 'utf8'), Buffer.of(Number.parseInt(s.slice(i + 1, i + 3), 16)));
    from = i + 3;
  }
  parts.push(Buffer.from(s.slice(from).replaceAll('+', ' '), 'utf8'));
  return Buffer.concat(parts).toString('utf8');
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
