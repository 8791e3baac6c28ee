/**
 * The console's way to the secrets: in-process requests to the daemon's own Engine API routes
 * (`/v1.44/secrets…`), so every rule, status and message is exactly what a docker client gets.
 * A refusal becomes an EngineError carrying dockerd's status and `message`.
 */
import type { SecretView } from '../secrets/types.ts';
import { API_VERSION } from '../version.ts';
import type { WireSpec } from './encode.ts';

export type EngineFetch = (req: Request) => Response | Promise<Response>;

export class EngineError extends Error {
  override name = 'EngineError';
  readonly status: number;
  constructor(
    status: number,
    message: string,
  ) {
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

  private async call(method: string, path: string, body?: unknown): Promise<unknown> {
    const init: RequestInit = { method };
    if (body !== undefined) {
      const text = JSON.stringify(body);
      init.body = text;
      init.headers = { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(text)) };
    }
    const res = await this.fetch(new Request(`http://secretd/v${API_VERSION}${path}`, init));
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
