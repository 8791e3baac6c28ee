/**
 * One HTTP server per -H address: unix sockets (mode 0660; a stale socket file from a killed
 * daemon is replaced, a live one is refused) and loopback TCP.
 */
import { createAdaptorServer } from '@hono/node-server';
import { chmodSync, existsSync, mkdirSync, unlinkSync } from 'node:fs';
import type { Server } from 'node:http';
import { connect, isIP } from 'node:net';
import { dirname } from 'node:path';
import type { FetchHandler } from './app.ts';

export interface Listener {
  address: string;
  server: Server;
  /** Removes what listening left behind (the socket file). */
  cleanup(): void;
}

export class ListenError extends Error {}

type Address = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

export function parseAddress(url: string): Address {
  if (url.startsWith('unix://')) return { kind: 'unix', path: url.slice('unix://'.length) };
  if (url.startsWith('tcp://')) {
    const rest = url.slice('tcp://'.length);
    const m = /^(?:\[([^\]]+)\]|([^:]*))(?::(\d+))?$/.exec(rest);
    if (!m) throw new ListenError(`cannot parse ${url}: use tcp://HOST:PORT`);
    const host = m[1] ?? (m[2] || '127.0.0.1');
    const port = m[3] === undefined ? 2375 : Number(m[3]);
    if (port > 65535) throw new ListenError(`${url}: port out of range`);
    return { kind: 'tcp', host, port };
  }
  throw new ListenError(`cannot listen on ${url}: use unix:///path or tcp://HOST:PORT`);
}

const LOOPBACK = (host: string) => host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));

export async function listen(url: string, fetch: FetchHandler): Promise<Listener> {
  const addr = parseAddress(url);
  const server = createAdaptorServer({ fetch }) as Server;
  if (addr.kind === 'tcp') {
    if (!LOOPBACK(addr.host)) {
      throw new ListenError(`refusing to listen on ${url}: the Engine API gives full control of every secret, and TLS is not available yet; listen on 127.0.0.1 or a unix socket`);
    }
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e) => reject(new ListenError(`cannot listen on ${url}: ${e.message}`)));
      server.listen(addr.port, addr.host, resolve);
    });
    const bound = server.address();
    const port = typeof bound === 'object' && bound ? bound.port : addr.port;
    return { address: `tcp://${addr.host.includes(':') ? `[${addr.host}]` : addr.host}:${port}`, server, cleanup: () => {} };
  }
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
