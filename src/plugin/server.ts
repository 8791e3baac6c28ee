/**
 * The plugin socket (--plugin-listen): Docker's legacy plugin protocol over HTTP/1.1 on a unix
 * socket that only root may use (0600; dockerd is its one client). Every call is `POST
 * /<Method>` with a JSON body (or none); every answer is JSON. `Plugin.Activate` says this plugin
 * implements `secretprovider` and `VolumeDriver`; the handlers live in secret-provider.ts and
 * volume-driver.ts.
 *
 * Without any --plugin-allow nothing is served: every call, Activate included, is refused with
 * a message naming the flag, so `docker secret create --driver` and `docker volume create`
 * fail at once and say why.
 */
import { chmodSync, existsSync, mkdirSync, unlinkSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { basename, dirname } from 'node:path';
import { socketAnswers } from '../http/listen.ts';
import { StartupError } from '../core/errors.ts';

/** The media type of plugin answers (docker/go-plugins-helpers sends this one). */
export const PLUGIN_CONTENT_TYPE = 'application/vnd.docker.plugins.v1+json';
/** dockerd's bodies are small (a GetSecret names a task; a Create its options). */
const MAX_BODY_BYTES = 256 * 1024;
/** dockerd is the only client; a handful of concurrent calls is plenty. */
const MAX_CONNECTIONS = 64;
const REQUEST_TIMEOUT_MS = 60_000;

/** What a handler answers: a JSON document, with 200 unless said otherwise. */
export interface Answer {
  status?: number;
  body: object;
}

/** A call's body, parsed (`{}` for an empty one); `null` when it is not JSON. */
export type Handler = (body: unknown) => Promise<Answer>;

export class PluginListenError extends StartupError {}

export interface PluginServer {
  /** The plugin's name as dockerd knows it: the socket's base name without `.sock`. */
  name: string;
  socket: string;
  stop(): Promise<void>;
}

export interface PluginServerOptions {
  socket: string;
  /** Handlers by method (`SecretProvider.GetSecret`, `VolumeDriver.Mount`, …). */
  handlers: Record<string, Handler>;
  /** The capabilities Activate lists. */
  implements: string[];
  /** When set, every call is refused with this (a 403 carrying it as `Err`). */
  refusal?: string;
  onError(fields: object, message: string): void;
}

export function pluginName(socket: string): string {
  return basename(socket).replace(/\.sock$/, '');
}

export async function startPluginServer(o: PluginServerOptions): Promise<PluginServer> {
  const server = createServer({ requestTimeout: REQUEST_TIMEOUT_MS, headersTimeout: REQUEST_TIMEOUT_MS }, (req, res) => {
    handle(o, req, res).catch((e) => {
      o.onError({ method: req.url, err: (e as Error).name }, 'plugin call failed');
      if (!res.headersSent) send(res, { status: 500, body: { Err: 'secretd: internal error (see its log)' } });
      else res.destroy();
    });
  });
  server.maxConnections = MAX_CONNECTIONS;
  mkdirSync(dirname(o.socket), { recursive: true });
  if (existsSync(o.socket)) {
    if (await socketAnswers(o.socket)) throw new PluginListenError(`--plugin-listen ${o.socket} is in use by another process`);
    unlinkSync(o.socket);
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) => reject(new PluginListenError(`cannot listen on --plugin-listen ${o.socket}: ${e.message}`)));
    server.listen(o.socket, resolve);
  });
  chmodSync(o.socket, 0o600);
  return {
    name: pluginName(o.socket),
    socket: o.socket,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 10_000).unref();
        try {
          unlinkSync(o.socket);
        } catch {
          // already gone
        }
      }),
  };
}

async function handle(o: PluginServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const method = (req.url ?? '').replace(/^\/+/, '');
  if (req.method !== 'POST') return send(res, { status: 405, body: { Err: `${req.method} ${req.url}: plugin calls are POST` } });
  const raw = await readBody(req);
  if (raw === undefined) return send(res, { status: 413, body: { Err: `${method}: the request body is larger than ${MAX_BODY_BYTES} bytes` } }, true);
  if (o.refusal !== undefined) return send(res, { status: 403, body: { Err: o.refusal } });
  if (method === 'Plugin.Activate') return send(res, { body: { Implements: o.implements } });
  const handler = Object.hasOwn(o.handlers, method) ? o.handlers[method] : undefined;
  if (!handler) return send(res, { status: 404, body: { Err: `secretd does not implement ${method}` } });
  let body: unknown;
  try {
    body = raw.length === 0 ? {} : JSON.parse(raw.toString('utf8'));
  } catch {
    return send(res, { status: 400, body: { Err: `${method}: the request body is not JSON` } });
  }
  send(res, await handler(body));
}

/** The body, or undefined once it passes the bound (the rest is not read). */
function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        req.removeAllListeners('data');
        req.pause();
        resolve(undefined);
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, a: Answer, close = false): void {
  const text = `${JSON.stringify(a.body)}\n`;
  res.writeHead(a.status ?? 200, {
    'Content-Type': PLUGIN_CONTENT_TYPE,
    'Content-Length': Buffer.byteLength(text),
    ...(close ? { Connection: 'close' } : {}),
  });
  res.end(text);
}
