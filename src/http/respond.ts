/**
 * Responses as dockerd writes them: Go's JSON encoder output plus a newline, exact Content-Type,
 * and on Engine routes (once src/http/api-version.ts accepted the version) dockerd's headers.
 */
import type { ServerResponse } from 'node:http';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { API_VERSION, ENGINE_VERSION } from '../version.ts';
import type { EdgeEnv } from './env.ts';

export const SERVER_HEADER = `Docker/${ENGINE_VERSION} (linux)`;

/** dockerd's headers on every Engine answer. */
const ENGINE_HEADERS: Record<string, string> = { 'Api-Version': API_VERSION, 'Docker-Experimental': 'false', Ostype: 'linux', Server: SERVER_HEADER };

const JSON_TYPE = { 'Content-Type': 'application/json' };

// Go escapes U+2028 and U+2029 even with HTML escaping off; JSON.stringify does not.
const SEPARATORS = /[\u2028\u2029]/g;

export function goJson(value: unknown): string {
  return goJsonText(JSON.stringify(value));
}

/** JSON.stringify's text as Go's encoder writes the same value. */
export function goJsonText(text: string): string {
  return goEscaped(text) + '\n';
}

/** Go's escapes in a piece of JSON text (any piece: the separators are single UTF-16 units). */
function goEscaped(text: string): string {
  return text.replace(SEPARATORS, (c) => (c === '\u2028' ? '\\u2028' : '\\u2029'));
}

export function json(c: Context<EdgeEnv>, value: unknown, status: ContentfulStatusCode = 200): Response {
  return jsonText(c, JSON.stringify(value), status);
}

/** `json` for a value already stringified (JSON.stringify's text). */
export function jsonText(c: Context<EdgeEnv>, text: string, status: ContentfulStatusCode = 200): Response {
  return answer(c, goJsonText(text), status, JSON_TYPE);
}

/**
 * `jsonText` for a text given whole or in pieces (src/secrets/list-text.ts): pieces are written as
 * they come, chunked, as Go writes an answer too long for its buffer. Abandoned (the client went
 * away), the pieces' source is told to stop.
 */
export async function jsonPieces(c: Context<EdgeEnv>, text: string | AsyncIterable<string>): Promise<Response> {
  if (typeof text === 'string') return jsonText(c, text);
  const pieces = text[Symbol.asyncIterator]();
  const outgoing = c.env.outgoing;
  if (outgoing && c.get('engineHeaders')) {
    await writePieces(outgoing, engineWritten(JSON_TYPE), pieces, (error) => c.env.cutShort?.(error, c.env.target.path));
    return RESPONSE_ALREADY_SENT;
  }
  const utf8 = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      let next: IteratorResult<string>;
      try {
        next = await pieces.next();
      } catch (error) {
        c.env.cutShort?.(error, c.env.target.path);
        throw error; // the stream errors: its reader sees the answer end early
      }
      if (next.done) {
        controller.enqueue(utf8.encode('\n'));
        controller.close();
      } else controller.enqueue(utf8.encode(goEscaped(next.value)));
    },
    async cancel() {
      await pieces.return?.();
    },
  });
  return answer(c, body, 200, JSON_TYPE);
}

/**
 * Over HTTP, the pieces go to Node's response as text: the socket encodes each into a buffer it
 * frees once written. Encoded here, every page of a list of all would be a buffer left to the
 * garbage collector, which lets tens of MB of them pile up after one long list.
 */
async function writePieces(
  res: ServerResponse,
  headers: Record<string, string>,
  pieces: AsyncIterator<string>,
  cutShort: (error: unknown) => void,
): Promise<void> {
  res.writeHead(200, headers);
  try {
    for (;;) {
      if (res.destroyed) {
        await pieces.return?.(); // the client went away: the store's read ends
        return;
      }
      const next = await pieces.next();
      if (next.done) break;
      if (!res.write(goEscaped(next.value))) await drainedOrClosed(res);
    }
    res.end('\n');
  } catch (error) {
    // The status went out with the headers: the answer can only be cut short, as dockerd's would be.
    cutShort(error);
    res.destroy(error as Error);
    await pieces.return?.().catch(() => {});
  }
}

function drainedOrClosed(res: ServerResponse): Promise<void> {
  if (res.destroyed) return Promise.resolve(); // closed already: no event is to come
  return new Promise<void>((resolve) => {
    const done = () => {
      res.off('drain', done).off('close', done);
      resolve();
    };
    res.on('drain', done).on('close', done);
  });
}

/** 200/204 with no body and no Content-Type (update, delete, swarm leave). */
export function empty(c: Context<EdgeEnv>, status: 200 | 204 = 200): Response {
  return answer(c, null, status, NO_HEADERS);
}

const NO_HEADERS: Record<string, string> = {};

/**
 * An answer with `headers` (a body's must name its Content-Type), and on Engine routes dockerd's
 * too: Engine routes set headers only here, never with c.header. Served over HTTP, an Engine
 * answer's headers go as one plain object, exactly as Hono and @hono/node-server write them from
 * a Headers object (lower-case names in order, then Content-Length), which the adapter writes as
 * it is: no Headers object is built, filled and read back on every request.
 */
export function answer(c: Context<EdgeEnv>, body: Body, status: ContentfulStatusCode | 204, headers: Record<string, string>): Response {
  if (!c.get('engineHeaders')) return viaHono(c, body, status, headers === NO_HEADERS ? undefined : headers);
  if (!c.env.incoming) return viaHono(c, body, status, { ...ENGINE_HEADERS, ...headers });
  const written = engineWritten(headers);
  // A stream has no length up front: it goes chunked. No body is a length of 0, as Go writes it (a 204 has none).
  if (typeof body === 'string') return new Response(body, { status, headers: { ...written, 'Content-Length': String(Buffer.byteLength(body)) } });
  return new Response(body, { status, headers: body === null && status !== 204 ? { ...written, 'Content-Length': '0' } : written });
}

/** A whole text, none, or a stream of bytes. */
type Body = string | null | ReadableStream<Uint8Array>;

/** In-process calls and non-Engine routes: as Hono answers. */
function viaHono(c: Context<EdgeEnv>, body: Body, status: ContentfulStatusCode | 204, headers: Record<string, string> | undefined): Response {
  return body === null ? c.body(null, status, headers) : c.body(body, status as ContentfulStatusCode, headers);
}

/** The headers of route headers `own` (constant objects are worked out once). */
const writtenOf = new WeakMap<Record<string, string>, Record<string, string>>();

function engineWritten(own: Record<string, string>): Record<string, string> {
  let written = writtenOf.get(own);
  if (!written) {
    const byName = new Map<string, string>();
    for (const set of [ENGINE_HEADERS, own]) for (const [name, value] of Object.entries(set)) byName.set(name.toLowerCase(), value);
    written = Object.fromEntries([...byName].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    if (own === JSON_TYPE || own === NO_HEADERS) writtenOf.set(own, written);
  }
  return written;
}
