/**
 * Response headers every console page carries, and the Host check against DNS rebinding: without
 * TLS the console listens on loopback only, so a request naming any other host was sent by a page
 * whose domain was made to resolve to 127.0.0.1, and is refused. (Over TLS the certificate check
 * does that job.)
 */
import { isIP } from 'node:net';

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  // No script at all; styles and images from /ui only; forms post only back to us.
  'Content-Security-Policy': "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  // Not no-referrer: under it Chromium sends `Origin: null` on our own form posts, which the
  // origin check must then refuse. same-origin sends nothing to any other origin either.
  'Referrer-Policy': 'same-origin',
  'Cache-Control': 'no-store',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

/** Whether a Host header names this machine's loopback: localhost, 127.0.0.0/8 or [::1], with any port. */
export function loopbackHost(host: string | undefined): boolean {
  if (!host) return false;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+))(?::\d{1,5})?$/.exec(host);
  if (!m) return false;
  if (m[1] !== undefined) return m[1] === '::1';
  const name = m[2]!.toLowerCase();
  return name === 'localhost' || (isIP(name) === 4 && name.startsWith('127.'));
}
