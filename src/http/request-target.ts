/**
 * A request's path as dockerd reads it. Go's server decodes the path's %-escapes before
 * routing (a path with a bad escape is a plain-text 400, before any handler), and dockerd's
 * router (gorilla/mux) answers a path that is not clean (`//`, `.` or `..` segments, given
 * literally or escaped) with a 301 to its cleaned form, before any middleware: no Api-Version
 * header, no body. Routes match the decoded path, so `%73ecrets` is `secrets` and `a%2Fb` is two
 * segments. One pass over the path, linear in it.
 */
import type { Target } from './env.ts';
import { goUnescape } from './go-escapes.ts';

const VERSIONED = /^\/v([0-9.]+)(\/.*)$/;

export type ReadTarget = { target: Target } | { redirect: string } | { badRequest: true };

/**
 * `raw` is the request-target as sent (`/p?q`), or an absolute URL (`http://host/p?q`, an
 * in-process call's Request.url).
 */
export function readTarget(raw: string): ReadTarget {
  const scheme = raw.startsWith('/') ? -1 : raw.indexOf('://');
  const start = scheme < 0 ? (raw.startsWith('/') ? 0 : -1) : raw.indexOf('/', scheme + 3);
  const q = start < 0 ? -1 : raw.indexOf('?', start);
  const path = start < 0 ? '/' : raw.slice(start, q < 0 ? undefined : q);
  const decoded = path.includes('%') ? goUnescape(path, false) : path;
  if (decoded === undefined) return { badRequest: true };
  const clean = decoded.startsWith('/') && !decoded.includes('//') && !decoded.includes('/.') ? decoded : cleanPath(decoded);
  if (clean !== decoded) return { redirect: escapePath(clean) + (q < 0 ? '' : raw.slice(q)) };
  // Hono decodes a route parameter that holds a '%' once more: what Go decoded must reach it as is.
  const routable = decoded === path ? path : decoded.replaceAll('%', '%25');
  const m = VERSIONED.exec(routable);
  const query = q < 0 ? '' : raw.slice(q + 1);
  return { target: m ? { path, routed: m[2]!, version: m[1]!, query } : { path, routed: routable, query } };
}

/** gorilla/mux's cleanPath: Go's path.Clean of the rooted path, keeping a trailing slash. */
export function cleanPath(p: string): string {
  if (p === '') return '/';
  const rooted = p.startsWith('/') ? p : `/${p}`;
  const out: string[] = [];
  for (const segment of rooted.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') out.pop();
    else out.push(segment);
  }
  const cleaned = `/${out.join('/')}`;
  return rooted.endsWith('/') && cleaned !== '/' ? `${cleaned}/` : cleaned;
}

/** Go's escape(path, encodePath): everything but letters, digits, `-_.~` and `$&+,/:;=@` as %XX of its UTF-8 bytes. */
function escapePath(p: string): string {
  let out = '';
  for (const b of Buffer.from(p, 'utf8')) {
    const c = String.fromCharCode(b);
    out += /[A-Za-z0-9\-_.~$&+,/:;=@]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}
