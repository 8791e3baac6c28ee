/**
 * The `/vX.Y` prefix. Routes are matched without it (the app's entry point parses the path once,
 * src/http/env.ts); this middleware, installed on every route, has dockerd's headers set on every
 * answer (src/http/respond.ts adds them, so every Engine route answers through it), and
 * refuses versions outside 1.24–1.44 the way Engine 25 does: JSON errors, or plain text when the
 * URL names a version of 1.23 or older.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { API_VERSION, compareVersions, MIN_API_VERSION } from '../version.ts';
import type { EdgeEnv } from './env.ts';
import { goJson, SERVER_HEADER } from './respond.ts';

/** The API version the client asked for: the URL's, or ours when the URL names none. */
export function requestedVersion(c: Context<EdgeEnv>): string {
  return c.get('apiVersion') ?? API_VERSION;
}

export function apiVersion(): MiddlewareHandler<EdgeEnv> {
  return async function apiVersion(c, next) {
    const version = c.env.target.version;
    // Our own version (what clients send) is in range: no comparing needed.
    if (version !== undefined && version !== API_VERSION) {
      let message: string | undefined;
      if (compareVersions(version, MIN_API_VERSION) < 0) {
        message = `client version ${version} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`;
      } else if (compareVersions(version, API_VERSION) > 0) {
        message = `client version ${version} is too new. Maximum supported API version is ${API_VERSION}`;
      }
      if (message !== undefined) {
        // Without Docker-Experimental, as dockerd. Go's http.Error for URL versions up to 1.23; JSON above.
        c.header('Server', SERVER_HEADER);
        c.header('Api-Version', API_VERSION);
        c.header('Ostype', 'linux');
        if (compareVersions(version, '1.23') <= 0) {
          return c.body(`${message}\n`, 400, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
        }
        return c.body(goJson({ message }), 400, { 'Content-Type': 'application/json' });
      }
    }
    if (version !== undefined) c.set('apiVersion', version);
    c.set('engineHeaders', true);
    await next();
  };
}
