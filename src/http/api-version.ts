/**
 * The `/vX.Y` prefix. Routes are matched without it; this middleware, installed on every
 * route, sets dockerd's headers and refuses versions outside 1.24–1.44 the way Engine 25 does:
 * JSON errors, or plain text when the URL names a version of 1.23 or older.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { API_VERSION, compareVersions, ENGINE_VERSION, MIN_API_VERSION } from '../version.ts';

const PREFIX = /^\/v([0-9.]+)(\/.*)$/;

/** The path routes see: the request path with any version prefix taken off. */
export function routedPath(url: string): string {
  const path = pathOf(url);
  const m = PREFIX.exec(path);
  return m ? m[2]! : path;
}

/** The API version the client asked for: the URL's, or ours when the URL names none. */
export function requestedVersion(c: Context): string {
  return (c.get('apiVersion' as never) as string | undefined) ?? API_VERSION;
}

/** The path of a request URL, without the query (no URL object: this runs on every request). */
export function pathOf(url: string): string {
  const start = url.indexOf('/', url.indexOf('://') + 3);
  if (start < 0) return '/';
  const q = url.indexOf('?', start);
  return url.slice(start, q < 0 ? undefined : q);
}

export const SERVER_HEADER = `Docker/${ENGINE_VERSION} (linux)`;

export function apiVersion(): MiddlewareHandler {
  return async (c, next) => {
    c.header('Server', SERVER_HEADER);
    c.header('Api-Version', API_VERSION);
    c.header('Ostype', 'linux');
    const m = PREFIX.exec(pathOf(c.req.url));
    const version = m?.[1];
    if (version !== undefined) {
      let message: string | undefined;
      if (compareVersions(version, MIN_API_VERSION) < 0) {
        message = `client version ${version} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`;
      } else if (compareVersions(version, API_VERSION) > 0) {
        message = `client version ${version} is too new. Maximum supported API version is ${API_VERSION}`;
      }
      if (message !== undefined) {
        // Go's http.Error for URL versions up to 1.23; JSON above.
        if (compareVersions(version, '1.23') <= 0) {
          return c.body(`${message}\n`, 400, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
        }
        return c.body(JSON.stringify({ message }) + '\n', 400, { 'Content-Type': 'application/json' });
      }
      c.set('apiVersion' as never, version as never);
    }
    c.header('Docker-Experimental', 'false');
    await next();
  };
}
