/** Responses as dockerd writes them: Go's JSON encoder output plus a newline, exact Content-Type. */
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

// Go escapes U+2028 and U+2029 even with HTML escaping off; JSON.stringify does not.
const SEPARATORS = /[\u2028\u2029]/g;

export function goJson(value: unknown): string {
  return goJsonText(JSON.stringify(value));
}

/** JSON.stringify's text as Go's encoder writes the same value. */
export function goJsonText(text: string): string {
  return text.replace(SEPARATORS, (c) => (c === '\u2028' ? '\\u2028' : '\\u2029')) + '\n';
}

export function json(c: Context, value: unknown, status: ContentfulStatusCode = 200): Response {
  return jsonText(c, JSON.stringify(value), status);
}

/** `json` for a value already stringified (JSON.stringify's text). */
export function jsonText(c: Context, text: string, status: ContentfulStatusCode = 200): Response {
  return c.body(goJsonText(text), status, { 'Content-Type': 'application/json' });
}

/** 200/204 with no body and no Content-Type (update, delete, swarm leave). */
export function empty(c: Context, status: 200 | 204 = 200): Response {
  return c.body(null, status);
}
