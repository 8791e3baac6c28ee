/**
 * Response headers every console page carries. (The Host check against DNS rebinding applies
 * to every route, not only the console's: src/http/browser-guard.ts.)
 */

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
