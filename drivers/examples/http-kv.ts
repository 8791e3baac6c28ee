/**
 * Example driver `http-kv`: a writable secret driver over a small HTTP key-value service, written
 * as a template for driver authors (drivers/README.md walks through it). Each secret is one key:
 * `store` PUTs the data given at create, `get` GETs it at every use, `removed` DELETEs it.
 *
 * Not loaded by default (only files directly in drivers/ are built in); load it with
 *   npm start -- --driver drivers/examples/http-kv.ts \
 *     --driver-opt http-kv.url=http://127.0.0.1:8200/secrets --driver-opt http-kv.token=TOKEN
 * and test it with `npm run driver:test -- drivers/examples/http-kv.ts --setting url=…`.
 */
import { checkKeys, MAX_VALUE_BYTES } from '../../src/drivers/kit.ts';
import type { DriverLog, DriverSetup, SecretDriver, SecretInfo, SecretRequest, SecretValue, StringMap } from '../../src/drivers/types.ts';

export const HTTP_KV_DRIVER = 'http-kv';

/** The operator's settings: `--driver-opt http-kv.KEY=VALUE` (all strings, parsed at `init`). */
export interface HttpKvSettings {
  /**
   * Base URL of the service, `http://` or `https://`, without credentials, query or fragment; a
   * secret's key is appended after a `/` (`http://kv:8200/secrets` + `db/pw`). Required.
   */
  url?: string;
  /** Sent as `Authorization: Bearer TOKEN` with every request. Default: no Authorization header. */
  token?: string;
  /** Limit for one request, connect to last byte, in milliseconds (1 to 600000). Default 5000. */
  timeout?: string;
}

/** A secret's `Driver.Options` (untrusted: they come from the API client). */
export interface HttpKvOptions {
  /**
   * The key: `/`-separated segments of `[A-Za-z0-9_.-]`, none empty or starting with a dot, at
   * most 256 characters. Default: the secret's name.
   */
  key?: string;
}

const DEFAULT_TIMEOUT_MS = 5000;
const MAX_TIMEOUT_MS = 600_000;
const MAX_KEY_CHARS = 256;
const SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9_.-]*$/;
const SETTING_KEYS = ['url', 'token', 'timeout'];
const OPTION_KEYS = ['key'];

/** The settings after `init` checked them. */
interface Config {
  base: string;
  headers: Record<string, string>;
  timeoutMs: number;
}

/**
 * Every failure of this driver. secretd shows the message to the API client prefixed with
 * `secret driver http-kv:`, so messages say what failed and never include a value or the token.
 */
export class HttpKvError extends Error {
  override readonly name = 'HttpKvError';
}

const quiet: DriverLog = { debug() {}, info() {}, warn() {}, error() {} };

/** A fresh, unconfigured driver (the default export is one; tests may make their own). */
export function createHttpKvDriver(): SecretDriver {
  let config: Config | undefined;
  let log = quiet;
  /** Aborted by `close`, so a stop does not wait for a slow service. */
  let closing = new AbortController();

  /** One request to the service: the key's URL, bounded by the timeout and by `close`. */
  async function call(method: 'GET' | 'PUT' | 'DELETE', key: string, init: { body?: Uint8Array; headers?: Record<string, string> } = {}): Promise<Response> {
    if (!config) throw new HttpKvError('not initialised: secretd calls init before any other hook');
    const { base, headers, timeoutMs } = config;
    const url = `${base}/${key.split('/').map(encodeURIComponent).join('/')}`;
    try {
      return await fetch(url, {
        method,
        headers: { ...headers, ...init.headers },
        body: init.body && new Uint8Array(init.body),
        redirect: 'error', // a redirect could carry the token elsewhere
        signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), closing.signal]),
      });
    } catch (e) {
      throw new HttpKvError(`${method} key ${key}: ${networkError(e, timeoutMs)}`);
    }
  }

  return {
    name: HTTP_KV_DRIVER,
    kind: 'secret',

    init(setup: DriverSetup): void {
      config = parseSettings(setup.settings);
      log = setup.log;
      closing = new AbortController();
    },

    /** At create: refuses what `get` would refuse anyway, so a bad key is a 400, not a failed task. */
    validate(options: StringMap, secret: { name: string }): void {
      keyFor(options, secret.name);
    },

    async store(secret: SecretInfo, data: Uint8Array): Promise<void> {
      const key = keyFor(secret.options, secret.name);
      // If-None-Match: * — creating a secret never overwrites a value someone else put there.
      const res = await call('PUT', key, { body: data, headers: { 'Content-Type': 'application/octet-stream', 'If-None-Match': '*' } });
      await res.body?.cancel();
      if (res.status === 412) throw new HttpKvError(`PUT key ${key}: the key already exists in the service (set option "key" to another one)`);
      if (!res.ok) throw statusError('PUT', key, res);
      log.debug({ key, bytes: data.length }, 'value stored');
    },

    async get(request: SecretRequest): Promise<SecretValue> {
      const key = keyFor(request.Options ?? {}, request.SecretName);
      const res = await call('GET', key);
      if (!res.ok) {
        await res.body?.cancel();
        if (res.status === 404) throw new HttpKvError(`GET key ${key}: no such key in the service`);
        throw statusError('GET', key, res);
      }
      const value = await readBounded(res, key);
      if (value.length === 0) throw new HttpKvError(`GET key ${key}: the stored value is empty`);
      return { value };
    },

    async removed(secret: SecretInfo): Promise<void> {
      const key = keyFor(secret.options, secret.name);
      const res = await call('DELETE', key);
      await res.body?.cancel();
      // Already gone is fine: the goal (no value left behind) holds.
      if (!res.ok && res.status !== 404) throw statusError('DELETE', key, res);
      log.debug({ key }, 'value deleted');
    },

    close(): void {
      closing.abort();
    },
  };
}

const driver: SecretDriver = createHttpKvDriver();
export default driver;

// --- helpers -------------------------------------------------------------------------------------

function parseSettings(settings: StringMap): Config {
  checkKeys('setting', settings, SETTING_KEYS, (m) => new HttpKvError(m));
  const s: HttpKvSettings = settings;
  if (!s.url) throw new HttpKvError('setting "url" is required, e.g. --driver-opt http-kv.url=http://127.0.0.1:8200/secrets');
  let url: URL;
  try {
    url = new URL(s.url);
  } catch {
    throw new HttpKvError('setting "url" is not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new HttpKvError('setting "url" must start with http:// or https://');
  // The token belongs in its own setting; a URL is shown in logs and messages.
  if (url.username || url.password) throw new HttpKvError('setting "url" must not contain credentials: use setting "token"');
  if (url.search || url.hash) throw new HttpKvError('setting "url" must not have a query or fragment');
  const headers: Record<string, string> = {};
  if (s.token !== undefined) {
    if (s.token === '' || /[\s\0]/.test(s.token)) throw new HttpKvError('setting "token" must be non-empty, without spaces or control characters');
    headers.Authorization = `Bearer ${s.token}`;
  }
  let timeoutMs = DEFAULT_TIMEOUT_MS;
  if (s.timeout !== undefined) {
    timeoutMs = Number(s.timeout);
    if (!/^\d+$/.test(s.timeout) || timeoutMs < 1 || timeoutMs > MAX_TIMEOUT_MS) {
      throw new HttpKvError(`setting "timeout" must be 1 to ${MAX_TIMEOUT_MS} milliseconds, not ${JSON.stringify(s.timeout)}`);
    }
  }
  return { base: url.href.replace(/\/+$/, ''), headers, timeoutMs };
}

function checkOptions(options: StringMap): void {
  checkKeys('option', options, OPTION_KEYS, (m) => new HttpKvError(m));
}

/** Returns `key` when it is a well-formed key; throws a message that quotes it (keys are not secret). */
function checkKey(key: string): string {
  const ok = typeof key === 'string' && key.length <= MAX_KEY_CHARS && key.split('/').every((seg) => SEGMENT.test(seg));
  if (!ok) {
    const shown = JSON.stringify(String(key).slice(0, 100));
    throw new HttpKvError(
      `option "key" ${shown} must be /-separated segments of [A-Za-z0-9_.-], none empty or starting with a dot, at most ${MAX_KEY_CHARS} characters`,
    );
  }
  return key;
}

/** The key for a secret: its `key` option, else its name. Options are checked again: a hook may be the first to see them. */
function keyFor(options: StringMap, secretName: string): string {
  checkOptions(options);
  return checkKey(options.key ?? secretName);
}

function statusError(method: string, key: string, res: Response): HttpKvError {
  // The status only: a body could echo what was sent.
  const why = res.status === 401 || res.status === 403 ? ' (check setting "token")' : '';
  return new HttpKvError(`${method} key ${key}: the service answered ${res.status} ${res.statusText}${why}`.trimEnd());
}

function networkError(e: unknown, timeoutMs: number): string {
  const err = e as Error & { cause?: { code?: string; message?: string } };
  if (err?.name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
  if (err?.name === 'AbortError') return 'cancelled: the driver is closing';
  return err?.cause?.code ?? err?.cause?.message ?? err?.message ?? String(e);
}

/** The body, refusing more than a secret may hold without buffering it all. */
async function readBounded(res: Response, key: string): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (res.body) {
    for await (const chunk of res.body) {
      size += chunk.length;
      // Leaving the loop cancels the stream, so a huge body is not read to its end.
      if (size > MAX_VALUE_BYTES) throw new HttpKvError(`GET key ${key}: the value is larger than ${MAX_VALUE_BYTES} bytes`);
      chunks.push(chunk);
    }
  }
  return new Uint8Array(Buffer.concat(chunks));
}
