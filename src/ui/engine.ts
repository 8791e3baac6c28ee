/**
 * The console's way to the secrets: in-process requests to the daemon's own Engine API routes
 * (`/v1.44/secrets…`), so every rule, status and message is exactly what a docker client gets,
 * and to secretd's value-version routes beside them (`/_secretd/v1/secrets/{id}/versions`).
 * A refusal becomes an EngineError carrying the route's status and `message`.
 */
import type { GenerateSpec } from '../secrets/generate.ts';
import type { SecretView } from '../secrets/types.ts';
import { API_VERSION } from '../version.ts';
import type { WireSpec } from './encode.ts';

/** One kept value version, as GET /_secretd/v1/secrets/{id}/versions lists it (never a value). */
export interface ValueVersionView {
  Version: number;
  CreatedAt: string;
  Current: boolean;
}

/** The body of POST /_secretd/v1/secrets/{id}/versions: the new value, given or generated. */
export type RotateBody = { Data: string } | { Generate: GenerateSpec };

/** secretd's own routes, unversioned (src/http/routes/delivery.ts DELIVERY_PREFIX). */
const SECRETD = '/_secretd/v1';

export type EngineFetch = (req: Request) => Response | Promise<Response>;

export class EngineError extends Error {
  override name = 'EngineError';
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export class EngineClient {
  private readonly fetch: EngineFetch;
  constructor(fetch: EngineFetch) {
    this.fetch = fetch;
  }

  async list(labels: readonly string[]): Promise<SecretView[]> {
    const filters = labels.length > 0 ? `?filters=${encodeURIComponent(JSON.stringify({ label: labels }))}` : '';
    return (await this.call('GET', `/secrets${filters}`)) as SecretView[];
  }

  async inspect(id: string): Promise<SecretView> {
    return (await this.call('GET', `/secrets/${encodeURIComponent(id)}`)) as SecretView;
  }

  async create(spec: WireSpec): Promise<string> {
    return ((await this.call('POST', '/secrets/create', spec)) as { ID: string }).ID;
  }

  /** Labels only, from the version the user saw; a stale one is the Engine's "update out of sequence". */
  async updateLabels(id: string, version: string, name: string, labels: Record<string, string>): Promise<void> {
    await this.call('POST', `/secrets/${encodeURIComponent(id)}/update?version=${encodeURIComponent(version)}`, { Name: name, Labels: labels });
  }

  async remove(id: string): Promise<void> {
    await this.call('DELETE', `/secrets/${encodeURIComponent(id)}`);
  }

  async versions(id: string): Promise<ValueVersionView[]> {
    return (await this.call('GET', `${SECRETD}/secrets/${encodeURIComponent(id)}/versions`)) as ValueVersionView[];
  }

  /** Stores the next version and makes it current; answers its number. */
  async rotate(id: string, body: RotateBody): Promise<number> {
    return ((await this.call('POST', `${SECRETD}/secrets/${encodeURIComponent(id)}/versions`, body)) as { Version: number }).Version;
  }

  async rollback(id: string, version: string): Promise<number> {
    return ((await this.call('POST', `${SECRETD}/secrets/${encodeURIComponent(id)}/versions/${encodeURIComponent(version)}/rollback`)) as { Version: number })
      .Version;
  }

  /** `path` is an Engine path (sent under `/v1.44`) or one of secretd's own (`/_secretd/…`, as is). */
  private async call(method: string, path: string, body?: unknown): Promise<unknown> {
    const init: RequestInit = { method };
    if (body !== undefined) {
      const text = JSON.stringify(body);
      init.body = text;
      init.headers = { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(text)) };
    }
    const url = path.startsWith(SECRETD) ? `http://secretd${path}` : `http://secretd/v${API_VERSION}${path}`;
    const res = await this.fetch(new Request(url, init));
    const text = await res.text();
    let doc: unknown;
    try {
      doc = text ? JSON.parse(text) : undefined;
    } catch {
      doc = undefined;
    }
    if (!res.ok) {
      const message = (doc as { message?: unknown } | undefined)?.message;
      throw new EngineError(res.status, typeof message === 'string' ? message : text.trim() || `HTTP ${res.status}`);
    }
    return doc;
  }
}
