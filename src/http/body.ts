/**
 * Request bodies, the way Engine 25's httputils.ReadJSON takes them: the Content-Type must be
 * application/json (parameters allowed) unless there is no body; a Content-Length of 0 means
 * "no body" and decodes to nothing; the size is bounded before anything is parsed.
 *
 * Memory is bounded for all requests together too: the bytes of bodies being read are counted
 * against one budget (MAX_BUFFERED_BYTES). A body whose declared length does not fit in what is
 * left is refused with a 503 before a byte of it is read; one that passes the budget while
 * arriving (chunked, or still arriving when others fill it) is dropped with the same 503.
 */
import type { Context } from 'hono';
import type { IncomingMessage } from 'node:http';
import { InvalidRequest, SecretdError } from '../core/errors.ts';
import type { EdgeEnv } from './env.ts';
import { parseJsonBody } from './json-body.ts';

/** Enough for the largest secret (500 KiB as base64) with room for labels. */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;

/** Body bytes held at once, over all requests being read: sixteen of the largest. */
export const MAX_BUFFERED_BYTES = 16 * MAX_BODY_BYTES;

export class BodyTooLarge extends InvalidRequest {
  constructor() {
    super(`request body is larger than ${MAX_BODY_BYTES} bytes`);
  }
}

/** 503: other requests' bodies hold the budget; retrying later is the answer. */
export class BodyBudgetExhausted extends SecretdError {
  constructor() {
    super('unavailable', 'the daemon is reading too many request bodies at once; retry later');
  }
}

let buffered = 0;

/** Bytes of request bodies held right now (for tests and the log). */
export function bufferedBodyBytes(): number {
  return buffered;
}

/** Counts bytes against the budget; returns false (counting nothing) when they do not fit. */
function take(bytes: number): boolean {
  if (buffered + bytes > MAX_BUFFERED_BYTES) return false;
  buffered += bytes;
  return true;
}

/**
 * The parsed JSON body, or undefined when the request has none; with `duplicates`, repeated keys
 * kept for a decoder that replays Go's (parseJsonBody).
 */
export async function readJsonBody<E extends EdgeEnv>(c: Context<E>, duplicates = false): Promise<unknown> {
  const contentType = c.req.header('content-type') ?? '';
  const length = c.req.header('content-length');
  const chunked = c.req.header('transfer-encoding') !== undefined;
  const hasBody = chunked || (length !== undefined && length !== '0');
  if (contentType === '' && !hasBody) return undefined;
  checkJsonContentType(contentType);
  if (!hasBody) return undefined;
  return parseJsonBody(await readBodyBytes(c), duplicates);
}

/**
 * The request body's bytes, refused with BodyTooLarge past MAX_BODY_BYTES and with
 * BodyBudgetExhausted past the shared budget (both by Content-Length first, before reading).
 */
export async function readBodyBytes<E extends EdgeEnv>(c: Context<E>): Promise<Uint8Array> {
  const length = c.req.header('content-length');
  const declared = length === undefined ? 0 : Number(length);
  if (declared > MAX_BODY_BYTES) throw new BodyTooLarge();
  if (buffered + declared > MAX_BUFFERED_BYTES) throw new BodyBudgetExhausted();
  // Under @hono/node-server the Node request is at hand: reading it directly skips a web stream.
  const incoming = c.env.incoming;
  return incoming ? readNodeBounded(incoming) : readBounded(c.req.raw);
}

/** Refuses as soon as a bound is passed; the rest is drained unread so the answer still goes out. */
function readNodeBounded(incoming: IncomingMessage): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const settle = () => {
      incoming.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
      buffered -= size;
    };
    const onData = (chunk: Buffer) => {
      const refusal = size + chunk.length > MAX_BODY_BYTES ? new BodyTooLarge() : !take(chunk.length) ? new BodyBudgetExhausted() : undefined;
      if (refusal) {
        settle();
        chunks.length = 0;
        incoming.resume();
        reject(refusal);
        return;
      }
      size += chunk.length;
      chunks.push(chunk);
    };
    const onEnd = () => {
      settle();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
    };
    const onError = (e: Error) => {
      settle();
      reject(e);
    };
    // A client that hangs up mid-body: settle (a no-op after 'end') so nothing waits forever.
    const onClose = () => {
      settle();
      reject(new InvalidRequest('the client closed the connection before the body ended'));
    };
    incoming.on('data', onData).on('end', onEnd).on('error', onError).on('close', onClose);
  });
}

async function readBounded(req: Request): Promise<Uint8Array> {
  if (!req.body) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = req.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const refusal = size + value.byteLength > MAX_BODY_BYTES ? new BodyTooLarge() : !take(value.byteLength) ? new BodyBudgetExhausted() : undefined;
      if (refusal) {
        await reader.cancel().catch(() => {});
        throw refusal;
      }
      size += value.byteLength;
      chunks.push(value);
    }
  } finally {
    buffered -= size;
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

/** Go's mime.ParseMediaType, as far as its verdict and error texts matter here. */
function checkJsonContentType(ct: string): void {
  const semi = ct.indexOf(';');
  const type = (semi < 0 ? ct : ct.slice(0, semi)).trim().toLowerCase();
  let problem: string | undefined;
  if (type === '') problem = 'mime: no media type';
  else if (!/^[!#$%&'*+\-.^_`|~0-9a-z]+\//.test(type)) problem = 'mime: expected slash after first token';
  else if (!/^[!#$%&'*+\-.^_`|~0-9a-z]+\/[!#$%&'*+\-.^_`|~0-9a-z]+$/.test(type)) problem = 'mime: expected token after slash';
  else if (semi >= 0 && !validParams(ct.slice(semi))) problem = 'mime: invalid media parameter';
  if (problem) throw new InvalidRequest(`malformed Content-Type header (${ct}): ${problem}`);
  if (type !== 'application/json') throw new InvalidRequest(`unsupported Content-Type header (${ct}): must be 'application/json'`);
}

function validParams(rest: string): boolean {
  // "; key=value" pairs with token or quoted values; one trailing ";" is tolerated, as in Go.
  const pieces = rest.slice(1).split(';');
  return pieces.every((piece, i) => {
    const p = piece.trim();
    if (p === '') return i === pieces.length - 1;
    return /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+=(?:[!#$%&'*+\-.^_`|~0-9A-Za-z]+|"[^"]*")$/.test(p);
  });
}
