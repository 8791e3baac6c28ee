/**
 * No web page can drive the API. A browser on the operator's machine can reach a loopback TCP
 * listener, and its pages can send simple requests there (a `<form enctype="text/plain">`
 * POST, a no-cors fetch) or, after DNS rebinding, read the answers. So on every TCP listener,
 * before any route runs (Engine API, /_secretd/v1, /ui):
 *
 * - over plain TCP the `Host` must name the listener's own address or a loopback name
 *   (localhost, 127.0.0.0/8, [::1]), with any port: a rebinding page's Host is its own domain.
 *   Over TLS the certificate check already stops rebinding, so any Host will do;
 * - a request a browser marks as coming from elsewhere is refused: an `Origin` that is not this
 *   listener's own origin (`http://` or `https://` + Host), `Origin: null` included, and
 *   `Sec-Fetch-Site` other than `same-origin` or `none` (a typed URL or bookmark). `same-site`
 *   is refused too: another port on localhost is the same site, and a different server.
 *
 * Docker clients send neither Origin nor Sec-Fetch-Site, and their Host is the address in
 * DOCKER_HOST, so they pass. Unix sockets and in-process calls are not checked: no browser
 * reaches them. A refusal is a 403 `{"message": …}` that names no header value.
 */
import type { Context } from 'hono';
import { Forbidden } from '../core/errors.ts';
import type { EdgeEnv, ListenerInfo } from './env.ts';
import { hostOfHeader, isLoopback } from './hosts.ts';

/** Why a request on `listener` may have been sent by a web page, or undefined when it may not. */
export function browserRefusal(
  listener: ListenerInfo,
  headers: { host?: string | undefined; origin?: string | undefined; fetchSite?: string | undefined },
  localAddress?: string,
): string | undefined {
  if (listener.transport === 'unix') return undefined;
  const tls = listener.transport === 'tls';
  if (!tls) {
    const host = hostOfHeader(headers.host);
    const own = host !== undefined && (isLoopback(host) || host === listener.host?.toLowerCase() || host === localAddress?.toLowerCase());
    if (!own)
      return 'the Host header names neither this listener nor a loopback name (localhost, 127.0.0.1, [::1]): a page that rebinds its DNS name sends its own';
  }
  if (headers.origin !== undefined && headers.origin.toLowerCase() !== `${tls ? 'https' : 'http'}://${(headers.host ?? '').toLowerCase()}`) {
    return 'the request comes from a web page of another origin (Origin)';
  }
  const site = headers.fetchSite;
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return 'the request comes from a web page of another origin (Sec-Fetch-Site)';
  return undefined;
}

/** Throws Forbidden for a request a web page may have sent: run before any route, and so before any change. */
export function refuseBrowsers(c: Context<EdgeEnv>): void {
  const listener = c.env.listener;
  if (!listener || listener.transport === 'unix') return;
  const why = browserRefusal(
    listener,
    { host: c.req.header('host'), origin: c.req.header('origin'), fetchSite: c.req.header('sec-fetch-site') },
    c.env.incoming?.socket.localAddress?.replace(/^::ffff:/, ''),
  );
  if (why) throw new Forbidden(`refused: ${why}; nothing was changed`);
}
