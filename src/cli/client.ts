/**
 * The CLI's connection to a daemon: `-H`, else DOCKER_HOST, else the default socket, the way
 * the docker CLI picks its daemon, over TLS as DOCKER_TLS_VERIFY/DOCKER_TLS/DOCKER_CERT_PATH
 * say (src/cli/tls-env.ts). One request, the whole answer back as bytes.
 */
import http from 'node:http';
import https from 'node:https';
import { defaultHost } from '../daemon/paths.ts';
import { clientTlsFromEnv } from './tls-env.ts';

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A daemon's error answer, worded as the docker CLI words it. */
export class DaemonError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(`Error response from daemon: ${message}`);
    this.status = status;
  }
}

export class Client {
  /** https.request options for a tcp:// host when the environment asks for TLS. */
  private readonly tls: https.RequestOptions | undefined;

  readonly host: string;
  constructor(host: string = process.env.DOCKER_HOST || defaultHost(), env: NodeJS.ProcessEnv = process.env) {
    this.host = host;
    if (!/^(unix:\/\/\/.+|tcp:\/\/[^/]+)$/.test(this.host)) throw new TypeError(`unsupported host ${this.host}: use unix:///path or tcp://HOST:PORT`);
    this.tls = this.host.startsWith('tcp://') ? clientTlsFromEnv(env) : undefined;
  }

  /** Sends `body` (JSON when not bytes) and resolves with the answer, whatever its status. */
  request(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
    const h: Record<string, string> = { ...headers };
    let payload: Buffer | undefined;
    if (body !== undefined) {
      payload = Buffer.from(JSON.stringify(body));
      h['Content-Type'] = 'application/json';
      h['Content-Length'] = String(payload.length);
    }
    const target = this.host.startsWith('unix://') ? { socketPath: this.host.slice('unix://'.length) } : tcpTarget(this.host);
    const send = this.tls ? https.request : http.request;
    return new Promise((resolve, reject) => {
      const req = send({ ...target, ...this.tls, method, path, headers: h, timeout: 60_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`no answer from ${this.host} within 60 s`)));
      req.on('error', (e: NodeJS.ErrnoException) => reject(this.connectError(e)));
      req.end(payload);
    });
  }

  /** A connection failure, worded for the user: no daemon, or TLS trouble on either side. */
  private connectError(e: NodeJS.ErrnoException): Error {
    if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED') return new Error(`Cannot connect to secretd at ${this.host}. Is the daemon running?`);
    if (this.tls) return new Error(`TLS connection to ${this.host} failed: ${e.message}`);
    if (e.code === 'ECONNRESET' || e.code === 'EPROTO' || /socket hang up|Parse Error/i.test(e.message)) {
      return new Error(`${this.host} closed the connection (${e.message}). Is it a TLS daemon? Then set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH`);
    }
    return e;
  }

  /** Like `request`, but a non-2xx answer becomes a DaemonError with the daemon's message. */
  async call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Answer> {
    const answer = await this.request(method, path, body, headers);
    if (answer.status >= 200 && answer.status < 300) return answer;
    let message = answer.body.toString('utf8').trim();
    try {
      message = (JSON.parse(message) as { message?: string }).message ?? message;
    } catch {
      // not JSON: keep the text
    }
    if (answer.status === 404 && message === 'page not found') message += ' (is the daemon running with --delivery?)';
    throw new DaemonError(answer.status, message);
  }
}

/** `tcp://HOST[:PORT]` → host and port; 2375 when the port is left out, as the docker CLI does. */
function tcpTarget(host: string): { host: string; port: number } {
  const url = new URL(host.replace(/^tcp:/, 'http:'));
  return { host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(url.port || 2375) };
}
