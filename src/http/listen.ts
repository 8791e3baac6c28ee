/**
 * One HTTP server per -H address: unix sockets (mode 0660; a stale socket file from a killed
 * daemon is replaced, a live one is refused; never TLS) and TCP, over TLS when configured.
 * Every request is handed to the app with the listener it was accepted on, which is where its
 * transport comes from (src/http/connection.ts). Listeners are bounded: a deadline for the TLS
 * handshake and for the request (--request-timeout), and a connection cap on each
 * (src/http/connection-cap.ts). Which TCP addresses are allowed at all is decided before, by
 * src/daemon/exposure.ts.
 *
 * A connection kept alive between requests stays open as long as its client keeps it, as
 * dockerd's does (Go's net/http without an IdleTimeout), instead of Node's 5 s: a pooled client
 * that sends its next request just as the server closes an idle connection gets a reset, not an
 * answer (the bench's client did, filling 100,000 secrets in turns with dockerd). Idle
 * connections are bounded by the cap instead: at it, the oldest idle one makes room.
 */
import { getRequestListener } from '@hono/node-server';
import { chmodSync, existsSync, mkdirSync, unlinkSync } from 'node:fs';
import { createServer as createHttpServer, IncomingMessage, type Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type ServerOptions as HttpsOptions } from 'node:https';
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { dirname } from 'node:path';
import { StartupError } from '../core/errors.ts';
import { DaemonConfigDefaults as D } from '../spec-types/config.ts';
import { capConnections, type Shed } from './connection-cap.ts';
import type { FetchHandler, ListenerInfo } from './env.ts';

export interface Listener {
  address: string;
  server: Server;
  /** True for a TCP listener served over TLS. */
  tls: boolean;
  /** Removes what listening left behind (the socket file). */
  cleanup(): void;
}

export interface ListenOptions {
  /** TLS for TCP listeners (from serverTlsOptions); unix sockets stay plain. */
  tls?: HttpsOptions;
  /** A TLS handshake failed or timed out: no certificate, one from another CA, plain HTTP, a scanner, an idle peer. */
  onTlsError?: (err: Error, remote: string | undefined) => void;
  /** A request, body included, must arrive within this many ms; then Node answers 408 and closes. The TLS handshake too. */
  requestTimeoutMs?: number;
  /** Connections per listener (default: spec/config.json's maxConnections). */
  maxConnections?: number;
  /** A listener at its cap dropped an idle connection for a new one, or refused the new one. */
  onShed?: (what: Shed, listener: string, remote: string | undefined) => void;
}

/**
 * The request line and headers may take as many bytes as dockerd allows (Go's default
 * MaxHeaderBytes, 1 MiB, and the 4 KiB it reads beyond that); Node's own 16 KiB refused a list
 * filtered by 600 names of 20 characters with a 431 that dockerd answers. A connection holds at
 * most this much while its headers arrive, within --request-timeout, and the cap bounds the
 * connections.
 */
export const MAX_HEADER_BYTES = 1024 * 1024 + 4096;

/** Node checks request deadlines on an interval (30 s by default): check often enough to be on time. */
function timeouts(ms: number = D.requestTimeoutMs) {
  return {
    requestTimeout: ms,
    headersTimeout: Math.min(ms, 60_000),
    connectionsCheckingInterval: Math.min(1_000, ms),
    maxHeaderSize: MAX_HEADER_BYTES,
    requireHostHeader: false, // checked in `serving`, answered as Go answers it
  };
}

/**
 * As Go's server: idle connections are closed by the cap, never by time (module comment; 0 turns
 * Node's timer off), and a request Node cannot parse is answered with Go's words, not an empty
 * body (docker's client then prints "431 Request Header Fields Too Large" instead of suggesting
 * an API version mismatch).
 */
function likeGoServer<S extends Server>(server: S): S {
  server.keepAliveTimeout = 0;
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    // What Node does without a listener, with Go's answers for the two Go gives.
    if (socket.writable && (socket as Socket).bytesWritten === 0 && err.code !== 'ECONNRESET') {
      socket.write(err.code === 'HPE_HEADER_OVERFLOW' ? GO_431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? NODE_408 : GO_400);
    }
    socket.destroy(err);
  });
  return server;
}

const goError = (status: string) => `HTTP/1.1 ${status}\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n${status}`;
const GO_400 = goError('400 Bad Request');
const GO_431 = goError('431 Request Header Fields Too Large');
const NODE_408 = 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n';

export class ListenError extends StartupError {}

type Address = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

export function parseAddress(url: string): Address {
  if (url.startsWith('unix://')) return { kind: 'unix', path: url.slice('unix://'.length) };
  if (url.startsWith('tcp://')) {
    const rest = url.slice('tcp://'.length);
    const m = /^(?:\[([^\]]+)\]|([^:]*))(?::(\d+))?$/.exec(rest);
    if (!m) throw new ListenError(`cannot parse ${url}: use tcp://HOST:PORT`);
    const host = m[1] ?? (m[2] || '127.0.0.1');
    // 2375 with or without TLS, as dockerd: its 2376 is only for an -H left out altogether.
    const port = m[3] === undefined ? 2375 : Number(m[3]);
    if (port > 65535) throw new ListenError(`${url}: port out of range`);
    return { kind: 'tcp', host, port };
  }
  throw new ListenError(`cannot listen on ${url}: use unix:///path or tcp://HOST:PORT`);
}

/**
 * The app, told for every request which listener accepted it. The Host header goes by Go's
 * rules: HTTP/1.1 must send one (Go's 400, in its words: Node's own check is off), HTTP/1.0 need
 * not, and then `localhost` stands in for it (the adapter builds a URL from it). Only a client
 * that is not a browser sends no Host: every browser sends one.
 */
function serving(fetch: FetchHandler, listener: ListenerInfo): (req: IncomingMessage, res: ServerResponse) => void {
  // HTTP/1 servers only, so the adapter's request is always an IncomingMessage.
  const handle = getRequestListener((req, { incoming, outgoing }) =>
    fetch(req, incoming instanceof IncomingMessage && outgoing instanceof ServerResponse ? { incoming, outgoing, listener } : { listener }),
  );
  return (req, res) => {
    if (req.headers.host === undefined) {
      if (req.httpVersion !== '1.0') {
        req.socket.end(GO_NO_HOST);
        return;
      }
      req.headers.host = 'localhost';
    }
    void handle(req, res);
  };
}

const GO_NO_HOST = goError('400 Bad Request: missing required Host header');

export async function listen(url: string, fetch: FetchHandler, opts: ListenOptions = {}): Promise<Listener> {
  const addr = parseAddress(url);
  if (addr.kind === 'tcp') {
    const info: ListenerInfo = { transport: opts.tls ? 'tls' : 'tcp', host: addr.host, port: addr.port };
    const server: Server = likeGoServer(
      opts.tls
        ? createHttpsServer({ ...opts.tls, ...timeouts(opts.requestTimeoutMs), handshakeTimeout: opts.requestTimeoutMs ?? D.requestTimeoutMs })
        : createHttpServer(timeouts(opts.requestTimeoutMs)),
    );
    if (opts.tls && opts.onTlsError) {
      const report = opts.onTlsError;
      server.on('tlsClientError', (err: Error, socket: Socket) => report(err, socket.remoteAddress));
    }
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e) => reject(new ListenError(`cannot listen on ${url}: ${e.message}`)));
      server.listen(addr.port, addr.host, resolve);
    });
    const bound = server.address();
    info.port = typeof bound === 'object' && bound ? bound.port : addr.port;
    const address = `tcp://${addr.host.includes(':') ? `[${addr.host}]` : addr.host}:${info.port}`;
    const onShed = opts.onShed;
    capConnections(server, opts.maxConnections ?? D.maxConnections, (what, remote) => onShed?.(what, address, remote));
    server.on('request', serving(fetch, info));
    return { address, server, tls: opts.tls !== undefined, cleanup: () => {} };
  }
  const server = likeGoServer(createHttpServer(timeouts(opts.requestTimeoutMs)));
  const address = `unix://${addr.path}`;
  capConnections(server, opts.maxConnections ?? D.maxConnections, (what) => opts.onShed?.(what, address, undefined));
  server.on('request', serving(fetch, { transport: 'unix', path: addr.path }));
  mkdirSync(dirname(addr.path), { recursive: true, mode: 0o700 });
  if (existsSync(addr.path)) {
    if (await socketAnswers(addr.path)) throw new ListenError(`${addr.path} is in use by another daemon`);
    unlinkSync(addr.path);
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) => reject(new ListenError(`cannot listen on ${url}: ${e.message}`)));
    server.listen(addr.path, resolve);
  });
  chmodSync(addr.path, 0o660);
  return {
    address,
    server,
    tls: false,
    cleanup: () => {
      try {
        unlinkSync(addr.path);
      } catch {
        // already gone
      }
    },
  };
}

/** Whether something accepts connections on the unix socket `path` (a live daemon, not a stale file). */
export function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
