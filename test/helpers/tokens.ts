/**
 * The parts of a consumer token, parsed by its format. Never split a token on `_`: its secret
 * part is base64url, which has `_` in about half of all tokens.
 */
const TOKEN = /^sdt_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

export function tokenParts(token: string): { id: string; secret: string } {
  const m = TOKEN.exec(token.trim());
  if (!m) throw new Error(`not a consumer token: ${token.length} characters`);
  return { id: m[1]!, secret: m[2]! };
}
