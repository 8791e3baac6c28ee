/**
 * The `/vX.Y` prefix. Routes are matched without it (the app's entry point parses the path once,
 * src/http/env.ts); this middleware, installed on every route, sets dockerd's headers and
 * refuses versions outside 1.24–1.44 the way Engine 25 does: JSON errors, or plain text when the
 * URL names a version of 1.23 or older.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { API_VERSION, compareVersions, ENGINE_VERSION, MIN_API_VERSION } from '../version.ts';
import type { EdgeEnv } from './env.ts';
import { goJson } from './respond.ts';

/** The API version the client asked for: the URL's, or ours when the URL names none. */
export function requestedVersion(c: Context<EdgeEnv>): string {
  return c.var.apiVersion ?? API_VERSION;
}

export const SERVER_HEADER = `Docker/${ENGINE_VERSION} (linux)`;

export function apiVersion(): MiddlewareHandler<EdgeEnv> {
  return async function apiVersion(c, next) {
    c.header('Server', SERVER_HEADER);
    c.header('Api-Version', API_VERSION);
    c.header('Ostype', 'linux');
    const version = c.env.target.version;
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
        return c.body(goJson({ message }), 400, { 'Content-Type': 'application/json' });
      }
      c.set('apiVersion', version);
    }
    c.header('Docker-Experimental', 'false');
    await next();
  };
}
