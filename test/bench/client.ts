/**
 * The benchmark's HTTP client: one keep-alive agent per daemon (unix socket or TCP), requests
 * timed from the call until the last body byte, and loud failures that carry the exact request
 * and answer.
 */
import { Agent, request, type RequestOptions } from 'node:http';

/** Where a daemon listens: `unix:///path.sock`, `http://host:port` or `tcp://host:port`. */
export interface Endpoint {
  socketPath?: string;
  host?: string;
  port?: number;
}

export function parseEndpoint(hostUrl: string): Endpoint {
  if (hostUrl.startsWith('unix://')) {
    const socketPath = hostUrl.slice('unix://'.length);
    if (!socketPath) throw new Error(`no socket path in ${hostUrl}`);
    return { socketPath };
  }
  if (hostUrl.startsWith('http://') || hostUrl.startsWith('tcp://')) {
    const url = new URL(hostUrl.replace(/^tcp:/, 'http:'));
    return { host: url.hostname, port: Number(url.port || 2375) };
  }
  throw new Error(`unsupported host ${hostUrl}: use unix:///path.sock, http://host:port or tcp://host:port`);
}

export interface Answer {
  status: number;
  body: Buffer;
  /** From the request call until the answer's last byte, in milliseconds. */
  ms: number;
}

const SNIPPET = 600;

function snippet(text: string): string {
  return text.length > SNIPPET ? `${text.slice(0, SNIPPET)}… (${text.length} chars)` : text;
}

/** A request that did not get the answer the benchmark expects (or no answer at all). */
export class RequestFailure extends Error {
  readonly side: string;
  readonly method: string;
  readonly path: string;
  readonly requestBody: string | undefined;
  readonly status: number | undefined;
  readonly responseBody: string | undefined;
  constructor(
    side: string,
    method: string,
    path: string,
    requestBody: string | undefined,
    status: number | undefined,
    responseBody: string | undefined,
    reason: string,
  ) {
    const lines = [`${side}: ${method} ${path} ${reason}`];
    if (requestBody !== undefined) lines.push(`  request body: ${snippet(requestBody)}`);
    if (status !== undefined) lines.push(`  answer: ${status} ${snippet(responseBody ?? '')}`);
    super(lines.join('\n'));
    this.side = side;
    this.method = method;
    this.path = path;
    this.requestBody = requestBody;
    this.status = status;
    this.responseBody = responseBody;
    this.name = 'RequestFailure';
  }
}

export class BenchClient {
  readonly agent: Agent;
  private readonly endpoint: Endpoint;
  /** `/v1.44`, set once the daemon's /version has been read. */
  prefix = '';

  readonly side: string;
  readonly hostUrl: string;
  private readonly timeoutMs: number;
  constructor(
    /** `secretd` or `dockerd`, for messages. */
    side: string,
    hostUrl: string,
    maxSockets: number,
    timeoutMs: number,
  ) {
    this.side = side;
    this.hostUrl = hostUrl;
    this.timeoutMs = timeoutMs;
    this.endpoint = parseEndpoint(hostUrl);
    this.agent = new Agent({ keepAlive: true, maxSockets });
  }

  /**
   * Sends one request (path without the version prefix unless `raw`), waits for the whole
   * answer and checks its status; anything else throws a RequestFailure.
   */
  async send(method: string, path: string, expect: number, body?: Buffer, raw = false): Promise<Answer> {
    const fullPath = raw ? path : this.prefix + path;
    let answer: Answer;
    try {
      answer = await this.exchange(method, fullPath, body);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      throw new RequestFailure(this.side, method, fullPath, body?.toString('utf8'), undefined, undefined, `failed: ${why}`);
    }
    if (answer.status !== expect) {
      throw new RequestFailure(
        this.side,
        method,
        fullPath,
        body?.toString('utf8'),
        answer.status,
        answer.body.toString('utf8'),
        `answered ${answer.status}, expected ${expect}`,
      );
    }
    return answer;
  }

  /** Parses an answer's JSON body; a body that is not JSON is a RequestFailure too. */
  parse(answer: Answer, method: string, path: string): unknown {
    const text = answer.body.toString('utf8');
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new RequestFailure(this.side, method, this.prefix + path, undefined, answer.status, text, 'answered a body that is not JSON');
    }
  }

  /** Throws a RequestFailure about a well-formed answer whose content is wrong. */
  wrong(answer: Answer, method: string, path: string, reason: string): never {
    throw new RequestFailure(this.side, method, this.prefix + path, undefined, answer.status, answer.body.toString('utf8'), reason);
  }

  /** A request (path without the prefix) that never throws: status and parsed JSON, or undefined. */
  async exchangeLoose(method: string, path: string): Promise<{ status: number; json: unknown } | undefined> {
    try {
      const answer = await this.exchange(method, this.prefix + path, undefined);
      let json: unknown;
      try {
        json = JSON.parse(answer.body.toString('utf8')) as unknown;
      } catch {
        json = undefined;
      }
      return { status: answer.status, json };
    } catch {
      return undefined;
    }
  }

  private exchange(method: string, path: string, body: Buffer | undefined): Promise<Answer> {
    const headers: Record<string, string | number> = {};
    if (body) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = body.length;
    }
    const opts: RequestOptions = { ...this.endpoint, agent: this.agent, method, path, headers };
    return new Promise<Answer>((resolve, reject) => {
      const started = performance.now();
      const req = request(opts, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const ms = performance.now() - started;
          resolve({ status: res.statusCode ?? 0, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks), ms });
        });
      });
      req.setTimeout(this.timeoutMs, () => req.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
