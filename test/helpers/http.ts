/** A tiny HTTP client for tests: one request over a unix socket or TCP, raw answer back. */
import http from 'node:http';

export interface RawRequest {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  /** A string or Buffer is sent as is; anything else is sent as JSON with Content-Type application/json. */
  body?: unknown;
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: any;
}

/**
 * `endpoint` is `unix:///path.sock` or `http://host:port`. Every request has its own connection
 * (`agent: false`), so that no request depends on what an earlier one left on a shared socket.
 */
export function request(endpoint: string, req: RawRequest): Promise<RawResponse> {
  const headers: Record<string, string> = { ...req.headers };
  let payload: Buffer | undefined;
  if (typeof req.body === 'string' || Buffer.isBuffer(req.body)) payload = Buffer.from(req.body);
  else if (req.body !== undefined) {
    payload = Buffer.from(JSON.stringify(req.body));
    headers['Content-Type'] ??= 'application/json';
  }
  if (payload) headers['Content-Length'] = String(payload.length);
  const target = endpoint.startsWith('unix://')
    ? { socketPath: endpoint.slice('unix://'.length) }
    : { host: new URL(endpoint).hostname, port: Number(new URL(endpoint).port) };
  return new Promise((resolve, reject) => {
    const r = http.request({ ...target, agent: false, method: req.method ?? 'GET', path: req.path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: any;
        try {
          json = text ? JSON.parse(text) : undefined;
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    r.on('error', reject);
    r.end(payload);
  });
}
