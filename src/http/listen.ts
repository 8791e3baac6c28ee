/**
 * One HTTP server per -H address: unix sockets (mode 0660; a stale socket file from a killed
 * daemon is replaced, a live one is refused; never TLS) and TCP, over TLS when configured.
 * Which TCP addresses are allowed at all is decided before, by src/daemon/exposure.ts.
 */
import { createAdaptorServer } from '@hono/node-server';
import { chmodSync, existsSync, mkdirSync, unlinkSync } from 'node:fs';
import type { Server } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer, type ServerOptions as HttpsOptions } from 'node:https';
import { connect, isIP, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { StartupError } from '../secrets/errors.ts';
import type { FetchHandler } from './app.ts';

export interface Listener {
  address: string;
  server: Server | HttpsServer;
  /** True for a TCP listener served over TLS. */
  tls: boolean;
  /** Removes what listening left behind (the socket file). */
  cleanup(): void;
}

export interface ListenOptions {
  /** TLS for TCP listeners (from serverTlsOptions); unix sockets stay plain. */
  tls?: HttpsOptions;
  /** A TLS handshake failed: no certificate, one from another CA, plain HTTP, a scanner. */
  onTlsError?: (err: Error, remote: string | undefined) => void;
  /** A request, body included, must arrive within this many ms; then Node answers 408 and closes. */
  requestTimeoutMs?: number;
}

/** Node checks request deadlines on an interval (30 s by default): check often enough to be on time. */
function timeouts(ms = 60_000) {
  return { requestTimeout: ms, headersTimeout: Math.min(ms, 60_000), connectionsCheckingInterval: Math.min(1_000, ms) };
}

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

/** localhost, ::1 and 127.0.0.0/8: reachable from this machine only. */
export const isLoopback = (host: string) => host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));

export async function listen(url: string, fetch: FetchHandler, opts: ListenOptions = {}): Promise<Listener> {
  const addr = parseAddress(url);
  if (addr.kind === 'tcp') {
    const server = opts.tls
      ? (createAdaptorServer({ fetch, createServer: createHttpsServer, serverOptions: { ...opts.tls, ...timeouts(opts.requestTimeoutMs) } }) as HttpsServer)
      : (createAdaptorServer({ fetch, serverOptions: timeouts(opts.requestTimeoutMs) }) as Server);
    if (opts.tls && opts.onTlsError) {
      const report = opts.onTlsError;
      server.on('tlsClientError', (err: Error, socket: Socket) => report(err, socket.remoteAddress));
    }
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e) => reject(new ListenError(`cannot listen on ${url}: ${e.message}`)));
      server.listen(addr.port, addr.host, resolve);
    });
    const bound = server.address();
    const port = typeof bound === 'object' && bound ? bound.port : addr.port;
    return { address: `tcp://${addr.host.includes(':') ? `[${addr.host}]` : addr.host}:${port}`, server, tls: opts.tls !== undefined, cleanup: () => {} };
  }
  const server = createAdaptorServer({ fetch, serverOptions: timeouts(opts.requestTimeoutMs) }) as Server;
  mkdirSync(dirname(addr.path), { recursive: true, mode: 0o700 });
  if (existsSync(addr.path)) {
    if (await answers(addr.path)) throw new ListenError(`${addr.path} is in use by another daemon`);
    unlinkSync(addr.path);
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) => reject(new ListenError(`cannot listen on ${url}: ${e.message}`)));
    server.listen(addr.path, resolve);
  });
  chmodSync(addr.path, 0o660);
  return {
    address: `unix://${addr.path}`,
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

function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
