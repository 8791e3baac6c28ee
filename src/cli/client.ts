/**
 * The CLI's connection to a daemon: `-H`, else DOCKER_HOST, else the default socket, the way
 * the docker CLI picks its daemon. One request, the whole answer back as bytes.
 */
import http from 'node:http';
import { defaultHost } from '../daemon/paths.ts';

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A daemon's error answer, worded as the docker CLI words it. */
export class DaemonError extends Error {
  constructor(readonly status: number, message: string) {
    super(`Error response from daemon: ${message}`);
  }
}

export class Client {
  constructor(readonly host: string = process.env.DOCKER_HOST || defaultHost()) {
    if (!/^(unix:\/\/\/.+|tcp:\/\/[^/]+)$/.test(this.host)) throw new TypeError(`unsupported host ${this.host}: use unix:///path or tcp://HOST:PORT`);
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
    const target = this.host.startsWith('unix://')
      ? { socketPath: this.host.slice('unix://'.length) }
      : { host: new URL(this.host.replace(/^tcp:/, 'http:')).hostname, port: Number(new URL(this.host.replace(/^tcp:/, 'http:')).port) };
    return new Promise((resolve, reject) => {
      const req = http.request({ ...target, method, path, headers: h, timeout: 60_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`no answer from ${this.host} within 60 s`)));
      req.on('error', (e: NodeJS.ErrnoException) =>
        reject(e.code === 'ENOENT' || e.code === 'ECONNREFUSED' ? new Error(`Cannot connect to secretd at ${this.host}. Is the daemon running?`) : e),
      );
      req.end(payload);
    });
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
