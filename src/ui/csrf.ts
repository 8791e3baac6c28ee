/**
 * Cross-site request forgery protection for the console, two independent layers:
 *
 * 1. A signed double-submit token. Each browser session gets a random ID in a cookie
 *    (HttpOnly, SameSite=Strict, Path=/ui); every form carries HMAC-SHA256(daemon key, ID).
 *    The key is random per daemon run and never leaves memory, so a page that can plant a
 *    cookie (another port on localhost shares our cookies) still cannot mint a matching token.
 * 2. Fetch metadata: a POST must say where it came from, and it must be this origin: `Origin`
 *    (when sent) equal to `http://` (`https://` over TLS) + Host, `Sec-Fetch-Site` (when sent) `same-origin`, and at
 *    least one of the two present (every current browser sends both on a form POST).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const SESSION_COOKIE = 'secretd_console';

const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;

export class Csrf {
  private readonly key = randomBytes(32);

  /** A well-formed session ID from the cookie, or undefined. */
  static sessionFrom(cookie: string | undefined): string | undefined {
    return cookie !== undefined && SESSION_ID.test(cookie) ? cookie : undefined;
  }

  static newSession(): string {
    return randomBytes(32).toString('base64url');
  }

  /** The token every form of this session carries. */
  token(session: string): string {
    return createHmac('sha256', this.key).update(`secretd console csrf\0${session}`).digest('base64url');
  }

  /** Whether `token` was made for `session` by this daemon (constant-time). */
  verify(session: string | undefined, token: string | undefined): boolean {
    if (session === undefined || token === undefined) return false;
    const want = Buffer.from(this.token(session));
    const got = Buffer.from(token);
    return got.length === want.length && timingSafeEqual(got, want);
  }
}

/** Why a POST does not come from a page of this console, or undefined when it does. */
export function crossSiteReason(headers: {
  origin?: string | undefined;
  fetchSite?: string | undefined;
  host?: string | undefined;
  tls?: boolean;
}): string | undefined {
  const { origin, fetchSite, host } = headers;
  const scheme = headers.tls ? 'https' : 'http';
  if (origin === undefined && fetchSite === undefined) return 'the request does not say where it comes from (no Origin, no Sec-Fetch-Site)';
  if (origin !== undefined && origin !== `${scheme}://${host}`) return `the request comes from another origin (${origin})`;
  if (fetchSite !== undefined && fetchSite !== 'same-origin') return `the request comes from another site (Sec-Fetch-Site: ${fetchSite})`;
  return undefined;
}
