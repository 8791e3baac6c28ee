/**
 * The real application (SQLite store, keyring, swarm state) on a temporary data root, called
 * in-process through its fetch handler: fast HTTP-level tests without a socket. `call` says the
 * request came on a unix-socket listener (the way the CLI and most clients reach the daemon).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { openCore, type Core, type CoreConfig } from '../../src/daemon/lifecycle.ts';
import type { ListenerInfo } from '../../src/http/env.ts';
import { SchemaRegistry } from '../../src/schemas.ts';

export interface CoreHandle extends Core {
  dataRoot: string;
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<CoreResponse>;
  dispose(): Promise<void>;
}

export interface CoreResponse {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

const schemas = new SchemaRegistry();

/** The listener `call` pretends requests came on. */
export const TEST_SOCKET: ListenerInfo = { transport: 'unix', path: '/run/secretd-test.sock' };

export async function openTestCore(opts: { swarmInit?: boolean; dataRoot?: string } & Partial<CoreConfig> = {}): Promise<CoreHandle> {
  const dir = mkdtempSync(join(tmpdir(), 'secretd-core-'));
  const dataRoot = opts.dataRoot ?? dir;
  const core = await openCore({ ...opts, dataRoot, swarmInit: opts.swarmInit ?? true }, schemas, pino({ level: 'silent' }));
  return {
    ...core,
    dataRoot,
    async call(method, path, body, headers = {}) {
      const init: RequestInit = { method, headers: { ...headers } };
      if (body !== undefined) {
        init.body = typeof body === 'string' ? body : JSON.stringify(body);
        (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
        (init.headers as Record<string, string>)['content-length'] ??= String(Buffer.byteLength(init.body as string));
      }
      const res = await core.fetch(new Request(`http://secretd${path}`, init), { listener: TEST_SOCKET });
      const text = await res.text();
      let json: any;
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch {
        json = undefined;
      }
      return { status: res.status, headers: res.headers, text, json };
    },
    async dispose() {
      await core.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
