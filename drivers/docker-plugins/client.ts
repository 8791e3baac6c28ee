/**
 * The plugin RPC client: one HTTP/1.1 POST per call, JSON in and out, as dockerd's
 * `pkg/plugins/client.go` @v25.0.0 sends it, over a unix socket, TCP or TLS.
 *
 * On the wire: `POST /<Method>`, `Accept: application/vnd.docker.plugins.v1.2+json`, no
 * Content-Type, `Host: plugin.moby.localhost` for unix sockets (the URL's host:port otherwise), a
 * JSON body with Go's trailing newline, or an empty body (Content-Length 0) when there are no
 * arguments. Any 200 body is read as JSON whatever its type; another status becomes
 * `<Method>: <Err>` from a `{"Err": …}` body, or `<Method>: <body>`.
 *
 * Unlike dockerd, a call is tried once: dockerd retries a failed connection with backoff for up to
 * 30 s (15 s observed), which blocks `secret create` that long for a dead plugin; here a refused
 * connection fails at once and a slow plugin fails after `timeoutMs`.
 */
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { rootCertificates } from 'node:tls';
import { goField, type PluginAddress } from './discovery.ts';

/** The media type dockerd v20.10 to v25 asks for (`pkg/plugins/transport/mimetype.go`). */
export const PLUGIN_ACCEPT = 'application/vnd.docker.plugins.v1.2+json';
/** The Host dockerd v25 sends over unix sockets (its `dummyHost`). */
export const LOCAL_HOST = 'plugin.moby.localhost';

export interface PluginClientOptions {
  /** Whole-call limit, connect to last byte, in ms. Default 30000 (dockerd's 30 s budget). */
  timeoutMs?: number;
  /** Largest reply body read, in bytes. Default 1 MiB (a 511999-byte value is 682668 in base64). */
  maxResponseBytes?: number;
}

/** Why a call failed; `gone` means the unix socket no longer exists (the plugin went away). */
export type PluginCallFailure = 'connect' | 'gone' | 'timeout' | 'status' | 'reply';

export class PluginCallError extends Error {
  readonly reason: PluginCallFailure;
  readonly status?: number;
  constructor(message: string, reason: PluginCallFailure, status?: number) {
    super(message);
    this.reason = reason;
    this.status = status;
    this.name = 'PluginCallError';
  }
}

/** The longest plugin-supplied text kept in an error message. */
const MAX_ERROR_TEXT = 1024;

export class PluginClient {
  private readonly timeoutMs: number;
  private readonly maxResponseBytes: number;

  readonly address: PluginAddress;
  private readonly target: Target;
  private constructor(address: PluginAddress, target: Target, options: PluginClientOptions) {
    this.address = address;
    this.target = target;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.maxResponseBytes = options.maxResponseBytes ?? 1024 * 1024;
  }

  /** Builds a client for `address`, reading its TLS files; throws on an address it cannot use. */
  static async create(address: PluginAddress, options: PluginClientOptions = {}): Promise<PluginClient> {
    return new PluginClient(address, await targetOf(address), options);
  }

  /**
   * POSTs `/<method>` with `args` as JSON (none: an empty body) and returns the decoded reply.
   * `method` is named in errors as dockerd names it (`Plugin.Activate`, `/SecretProvider.GetSecret`).
   */
  call(method: string, args?: object): Promise<unknown> {
    const path = method.startsWith('/') ? method : `/${method}`;
    const body = args === undefined ? Buffer.alloc(0) : Buffer.from(`${JSON.stringify(args)}\n`);
    const t = this.target;
    const where = `Post "${t.scheme}://${t.host}${path}"`;
    const options: https.RequestOptions = {
      ...t.options,
      method: 'POST',
      path,
      agent: false,
      headers: { Host: t.host, Accept: PLUGIN_ACCEPT, 'Content-Length': body.length },
    };
    return new Promise((resolve, reject) => {
      let settled = false;
      const finish = (err: PluginCallError | undefined, value?: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        req.destroy();
        if (err) reject(err);
        else resolve(value);
      };
      const timer = setTimeout(() => finish(new PluginCallError(`${where}: timed out after ${this.timeoutMs} ms`, 'timeout')), this.timeoutMs);
      const req = (t.scheme === 'https' ? https : http).request(options, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > this.maxResponseBytes) {
            finish(new PluginCallError(`${method}: reply larger than ${this.maxResponseBytes} bytes`, 'reply'));
            return;
          }
          chunks.push(chunk);
        });
        res.on('error', (e) => finish(new PluginCallError(`${where}: ${goNetError(e, t)}`, 'connect')));
        res.on('aborted', () => finish(new PluginCallError(`${method}: unexpected EOF`, 'reply')));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode !== 200) {
            finish(new PluginCallError(`${method}: ${errorText(text)}`, 'status', res.statusCode));
            return;
          }
          try {
            finish(undefined, JSON.parse(text));
          } catch {
            finish(new PluginCallError(`${method}: ${text.trim() === '' ? 'EOF' : 'the reply is not JSON'}`, 'reply'));
          }
        });
      });
      req.on('error', (e: NodeJS.ErrnoException) => {
        const gone = t.socketPath !== undefined && e.code === 'ENOENT';
        finish(new PluginCallError(`${where}: ${goNetError(e, t)}`, gone ? 'gone' : 'connect'));
      });
      req.end(body);
    });
  }
}

interface Target {
  scheme: 'http' | 'https';
  /** The Host header and the host in messages. */
  host: string;
  socketPath?: string;
  options: https.RequestOptions;
}

async function targetOf(address: PluginAddress): Promise<Target> {
  const { addr } = address;
  const scheme = addr.slice(0, addr.indexOf(':')).toLowerCase();
  if (scheme === 'unix') {
    const rest = addr.slice('unix://'.length);
    if (!addr.startsWith('unix://') || rest === '') throw new Error(`plugin address ${addr} has no socket path`);
    return { scheme: 'http', host: LOCAL_HOST, socketPath: rest, options: { socketPath: rest } };
  }
  let url: URL;
  try {
    url = new URL(addr);
  } catch {
    throw new Error(`plugin address ${addr} is not a URL`);
  }
  if (url.hostname === '') throw new Error(`plugin address ${addr} has no host`);
  const https_ = scheme === 'https'; // dockerd: only https:// means TLS, whatever TLSConfig says
  const port = url.port || (https_ ? '443' : scheme === 'http' ? '80' : '');
  if (port === '') throw new Error(`plugin address ${addr} has no port`);
  const hostname = url.hostname.replace(/^\[|\]$/g, '');
  const options: https.RequestOptions = { hostname, port: Number(port) };
  if (https_) Object.assign(options, await tlsOptions(address));
  return { scheme: https_ ? 'https' : 'http', host: url.host, options };
}

async function tlsOptions(address: PluginAddress): Promise<https.RequestOptions> {
  const t = address.tls;
  if (!t) return {};
  const read = (f: string) => readFile(f).catch((e: Error) => Promise.reject(new Error(`plugin ${address.name}: ${e.message}`)));
  const options: https.RequestOptions = { rejectUnauthorized: !t.insecureSkipVerify };
  // Go's tlsconfig adds CAFile to the system pool; Node's `ca` replaces it, so list both.
  if (t.caFile) options.ca = [...rootCertificates, (await read(t.caFile)).toString('utf8')];
  if (t.certFile && t.keyFile) {
    options.cert = await read(t.certFile);
    options.key = await read(t.keyFile);
  }
  return options;
}

/** Node's socket errors in the words Go's net package uses, which dockerd shows. */
function goNetError(e: NodeJS.ErrnoException, t: Target): string {
  const dial = t.socketPath ? `dial unix ${t.socketPath}` : `dial tcp ${t.host}`;
  switch (e.code) {
    case 'ECONNREFUSED':
      return `${dial}: connect: connection refused`;
    case 'ENOENT':
      return `${dial}: connect: no such file or directory`;
    case 'EACCES':
      return `${dial}: connect: permission denied`;
    case 'ECONNRESET':
      return 'EOF';
    default:
      return e.message;
  }
}

/** dockerd's reading of a non-200 body: its `Err` when it is JSON with one, else the raw text. */
function errorText(body: string): string {
  let text = body.trimEnd();
  try {
    const doc: unknown = JSON.parse(body);
    if (typeof doc === 'object' && doc !== null) {
      const err = goField(doc, 'Err');
      if (typeof err === 'string' && err !== '') text = err;
    }
  } catch {
    // not JSON: the raw body, as dockerd's "old way"
  }
  return text.length > MAX_ERROR_TEXT ? `${text.slice(0, MAX_ERROR_TEXT)}…` : text;
}
