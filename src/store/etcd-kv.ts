/**
 * etcd's KV service (Range and Txn) as unary gRPC calls over node:http2: one HTTP/2 session per
 * endpoint, the messages encoded and decoded by protobufjs from the etcd3 package's own proto
 * files. The etcd3 client (still used for watches) makes the same calls through grpc-js and its
 * retry and circuit-breaker policies, which cost 460 µs of the daemon's CPU per call here,
 * against 190 µs this way (docs/benchmark.md): every consistent read shares such a call, so
 * that was most of what an etcd read cost.
 *
 * A call goes to the endpoint in use. A connection that fails, or a member that answers
 * UNAVAILABLE (no leader, leader changed, stopping), moves the client on to the next endpoint,
 * and the call is tried there, up to ATTEMPTS times in all, within its deadline, as the etcd3
 * client did. A member that stays silent fails the call at its deadline; the next call goes on.
 * A write tried again is safe: each is one conditional transaction, and the store recognises
 * its own earlier success (etcd.ts). Answers are protobufjs messages: int64 fields are `Long`s,
 * which Number() reads, where etcd3's typings say strings.
 */
import { connect, constants, type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import type { IRangeRequest, IRangeResponse, ITxnRequest, ITxnResponse } from 'etcd3';
import protobuf from 'protobufjs';

/** The largest answer taken: grpc-js's default receive limit, which the store's pages are sized for. */
export const MAX_ANSWER_BYTES = 4 * 1024 * 1024;
/** Tries of one call, the first included, before its failure is the caller's. */
const ATTEMPTS = 3;
/** Pause before trying the same endpoint again (a single endpoint whose member is electing). */
const SAME_ENDPOINT_PAUSE_MS = 50;
const UNAVAILABLE = 14;

/** A call etcd refused (`code`: its gRPC status), or one that got no answer; `retry` when another try may succeed. */
export class EtcdCallError extends Error {
  readonly code: number | undefined;
  readonly retry: boolean;
  readonly timedOut: boolean;
  constructor(message: string, opts: { code?: number; retry?: boolean; timedOut?: boolean } = {}) {
    super(message);
    this.code = opts.code;
    this.retry = opts.retry ?? false;
    this.timedOut = opts.timedOut ?? false;
  }
}

/** gRPC's INVALID_ARGUMENT: etcd refused the request itself (too many operations, too large, a duplicate key). */
export const INVALID_ARGUMENT = 3;

export interface EtcdKvOptions {
  /** `host:port` each. */
  endpoints: string[];
  /** PEM contents; with any of them the endpoints are dialled over TLS. */
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
}

interface Messages {
  encode(request: object): Uint8Array;
  decode(answer: Buffer): unknown;
}

export class EtcdKv {
  private readonly sessions: (ClientHttp2Session | undefined)[];
  private current = 0;
  private closed = false;
  private readonly range = messages('RangeRequest', 'RangeResponse');
  private readonly txnMessages = messages('TxnRequest', 'TxnResponse');

  private readonly endpoints: string[];
  private readonly tls: EtcdKvOptions['tls'];
  private readonly secure: boolean;
  constructor(opts: EtcdKvOptions) {
    this.endpoints = opts.endpoints;
    this.tls = opts.tls;
    this.secure = opts.tls !== undefined && Object.values(opts.tls).some(Boolean);
    this.sessions = opts.endpoints.map(() => undefined);
  }

  /** Range, answered within `deadline` (a Date.now() time). */
  get(request: IRangeRequest, deadline: number): Promise<IRangeResponse> {
    return this.call('/etcdserverpb.KV/Range', this.range, request, deadline) as Promise<IRangeResponse>;
  }

  /** Txn, answered within `deadline` (a Date.now() time). */
  txn(request: ITxnRequest, deadline: number): Promise<ITxnResponse> {
    return this.call('/etcdserverpb.KV/Txn', this.txnMessages, request, deadline) as Promise<ITxnResponse>;
  }

  close(): void {
    this.closed = true;
    for (const s of this.sessions) s?.close();
    this.sessions.fill(undefined);
  }

  private async call(path: string, m: Messages, request: object, deadline: number): Promise<unknown> {
    const body = frame(m.encode(request));
    for (let attempt = 1; ; attempt++) {
      const endpoint = this.current;
      try {
        return m.decode(await this.once(endpoint, path, body, deadline));
      } catch (e) {
        const failed = e instanceof EtcdCallError ? e : undefined;
        // Later calls go to the next endpoint when this one failed or kept silent (a stopped member).
        if ((failed?.retry || failed?.timedOut) && this.current === endpoint) this.current = (endpoint + 1) % this.endpoints.length;
        if (!failed?.retry || attempt >= ATTEMPTS || this.closed) throw e;
        if (this.current === endpoint) await new Promise((r) => setTimeout(r, SAME_ENDPOINT_PAUSE_MS));
        if (Date.now() >= deadline) throw e;
      }
    }
  }

  /** One try on one endpoint: the answer's message bytes, or an EtcdCallError. */
  private once(endpoint: number, path: string, body: Buffer, deadline: number): Promise<Buffer> {
    return new Promise<Buffer>((resolve, reject) => {
      const left = deadline - Date.now();
      if (this.closed) return reject(new EtcdCallError('the etcd client is closed'));
      if (left <= 0) return reject(new EtcdCallError('no time left', { timedOut: true }));
      let stream: ReturnType<ClientHttp2Session['request']>;
      try {
        stream = this.session(endpoint).request({
          ':method': 'POST',
          ':path': path,
          'content-type': 'application/grpc',
          te: 'trailers',
          'grpc-timeout': `${Math.ceil(left)}m`,
        });
      } catch (e) {
        return reject(new EtcdCallError(`cannot reach ${this.endpoints[endpoint]}: ${(e as Error).message}`, { retry: true }));
      }
      const chunks: Buffer[] = [];
      let size = 0;
      let status: IncomingHttpHeaders | undefined;
      let failure: EtcdCallError | undefined;
      const fail = (e: EtcdCallError) => {
        failure ??= e;
        if (!stream.closed) stream.close(constants.NGHTTP2_CANCEL);
      };
      const timer = setTimeout(() => fail(new EtcdCallError(`no answer within the deadline from ${this.endpoints[endpoint]}`, { timedOut: true })), left);
      // A refusal may come as headers alone ("trailers-only"), an answer as data then trailers.
      stream.on('response', (headers) => {
        if (headers['grpc-status'] !== undefined) status = headers;
        else if (headers[':status'] !== 200) fail(new EtcdCallError(`${this.endpoints[endpoint]} answered HTTP ${headers[':status']}`, { retry: true }));
      });
      stream.on('trailers', (trailers) => {
        status = trailers;
      });
      stream.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_ANSWER_BYTES + 5) fail(new EtcdCallError(`an answer from etcd exceeded ${MAX_ANSWER_BYTES} bytes`));
        else chunks.push(chunk);
      });
      stream.on('error', (e: Error) => fail(new EtcdCallError(`the connection to ${this.endpoints[endpoint]} failed: ${e.message}`, { retry: true })));
      stream.on('close', () => {
        clearTimeout(timer);
        if (failure) return reject(failure);
        if (!status) return reject(new EtcdCallError(`the connection to ${this.endpoints[endpoint]} closed before an answer`, { retry: true }));
        const code = Number(status['grpc-status']);
        if (code !== 0) {
          return reject(new EtcdCallError(grpcMessage(status['grpc-message'], code), { code, retry: code === UNAVAILABLE }));
        }
        const answer = Buffer.concat(chunks, size);
        const length = answer.length >= 5 ? answer.readUInt32BE(1) : -1;
        if (answer[0] !== 0 || length !== answer.length - 5) return reject(new EtcdCallError('etcd sent an answer this client cannot read'));
        resolve(answer.subarray(5));
      });
      stream.end(body);
    });
  }

  /** The endpoint's session, connected at first use and again after it closed. */
  private session(endpoint: number): ClientHttp2Session {
    const open = this.sessions[endpoint];
    if (open && !open.closed && !open.destroyed) return open;
    const tls = this.tls ?? {};
    const session = connect(`${this.secure ? 'https' : 'http'}://${this.endpoints[endpoint]}`, {
      ...(this.secure ? { ca: tls.ca, cert: tls.cert, key: tls.key } : {}),
      // Each answer is read whole: a stream's window that holds one saves a window update a frame.
      settings: { initialWindowSize: MAX_ANSWER_BYTES + 5 },
    });
    session.on('connect', () => session.setLocalWindowSize(4 * (MAX_ANSWER_BYTES + 5)));
    session.on('error', () => {}); // every stream of the session reports the failure as its own
    // Closed or going away: the next call connects again.
    const forget = () => {
      if (this.sessions[endpoint] === session) this.sessions[endpoint] = undefined;
    };
    session.on('close', forget);
    session.on('goaway', forget);
    this.sessions[endpoint] = session;
    return session;
  }
}

/** A refusal's grpc-message, percent-encoded as gRPC sends it; one etcd mangled is shown as it came. */
function grpcMessage(raw: string | string[] | undefined, code: number): string {
  if (raw === undefined) return `gRPC status ${code}`;
  const text = String(raw);
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** The gRPC length-prefixed message: not compressed, 4 bytes of length, the bytes. */
function frame(message: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + message.length);
  out[0] = 0;
  out.writeUInt32BE(message.length, 1);
  out.set(message, 5);
  return out;
}

let root: protobuf.Root | undefined;

/** etcd's messages from the proto files the etcd3 package ships (field names as in them). */
function messages(request: string, answer: string): Messages {
  if (!root) {
    const protoDir = join(dirname(createRequire(import.meta.url).resolve('etcd3/package.json')), 'proto');
    root = new protobuf.Root();
    root.resolvePath = (_origin, target) => join(protoDir, basename(target));
    root.loadSync(join(protoDir, 'rpc.proto'), { keepCase: true });
  }
  const req = root.lookupType(`etcdserverpb.${request}`);
  const res = root.lookupType(`etcdserverpb.${answer}`);
  return {
    encode: (r) => req.encode(req.fromObject(r)).finish(),
    decode: (b) => res.decode(b),
  };
}
