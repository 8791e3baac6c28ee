/**
 * Example key provider `kek-command`: the key-encryption keys come from an external command,
 * so they can live in a password store, Vault or a KMS (`aws kms decrypt …`) rather than in the
 * data root. The command runs at start and at each rotation, without a shell, and prints
 *
 *   {"current": "2024-06", "keys": {"2024-06": "<base64 of 32 bytes>", "2024-01": "<…>"}}
 *
 * The KEKs stay in memory only; data keys are wrapped locally with AES-256-GCM, bound to the
 * secret they belong to. To rotate, make the command print a new `current` key (keeping the old
 * one listed), then `POST /_secretd/v1/keys/rotate`; once GET /_secretd/v1/keys shows the
 * rotation idle, no data key uses the old key and it may be dropped from the output.
 *
 * Load it with
 *   npm start -- --kek-provider drivers/examples/kek-command.ts \
 *     --driver-opt 'kek-command.command=["/usr/local/bin/secretd-keks","print"]'
 */
import { execFile } from 'node:child_process';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { KeyProvider } from '../../src/crypto/types.ts';

export const KEK_COMMAND = 'kek-command';

/** The operator's settings: `--driver-opt kek-command.KEY=VALUE`. */
export interface KekCommandSettings {
  /** A JSON array argv (`["pass","show","secretd/keks"]`) or a single executable path. Required. */
  command?: string;
  /** Milliseconds the command may take. Default 10000. */
  timeout?: string;
}

const NONCE = 12;
const TAG = 16;
const KEY_ID = /^[\x21-\x7e]{1,255}$/;

interface Keks {
  current: string;
  keys: Map<string, Buffer>;
}

export function createKekCommandProvider(): KeyProvider {
  let argv: string[] = [];
  let timeoutMs = 10_000;
  let keks: Keks | undefined;

  const loaded = (): Keks => {
    if (!keks) throw new Error(`${KEK_COMMAND}: not initialised`);
    return keks;
  };

  const fetchKeks = (): Promise<Keks> =>
    new Promise((resolve, reject) => {
      execFile(argv[0]!, argv.slice(1), { timeout: timeoutMs, maxBuffer: 1 << 20, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } }, (err, stdout) => {
        // Never echo the output: it holds the keys.
        if (err) return reject(new Error(`${KEK_COMMAND}: ${argv[0]} failed (${err.code ?? err.signal ?? 'error'})`));
        try {
          resolve(parseKeks(stdout));
        } catch (e) {
          reject(e);
        }
      });
    });

  return {
    kind: 'key-provider',
    name: KEK_COMMAND,

    async init(settings) {
      const command = settings.command;
      if (!command) throw new Error(`${KEK_COMMAND}: set --driver-opt ${KEK_COMMAND}.command=…`);
      argv = command.startsWith('[') ? (JSON.parse(command) as string[]) : [command];
      if (!Array.isArray(argv) || argv.length === 0 || !argv.every((a) => typeof a === 'string' && a.length > 0)) {
        throw new Error(`${KEK_COMMAND}: command must be an executable path or a JSON array of strings`);
      }
      if (settings.timeout !== undefined) timeoutMs = Number(settings.timeout);
      if (!Number.isInteger(timeoutMs) || timeoutMs < 1) throw new Error(`${KEK_COMMAND}: timeout must be a positive number of milliseconds`);
      keks = await fetchKeks();
    },

    currentKeyId: () => loaded().current,

    keyIds: () => [...loaded().keys.keys()],

    wrap(dataKey, context) {
      const { current, keys } = loaded();
      const nonce = randomBytes(NONCE);
      const cipher = createCipheriv('aes-256-gcm', keys.get(current)!, nonce, { authTagLength: TAG });
      cipher.setAAD(aad(current, context));
      return { keyId: current, wrapped: Buffer.concat([nonce, cipher.update(dataKey), cipher.final(), cipher.getAuthTag()]) };
    },

    unwrap(keyId, wrapped, context) {
      const kek = loaded().keys.get(keyId);
      if (!kek) throw new Error(`${KEK_COMMAND}: the command no longer prints KEK ${keyId}`);
      const decipher = createDecipheriv('aes-256-gcm', kek, wrapped.subarray(0, NONCE), { authTagLength: TAG });
      decipher.setAAD(aad(keyId, context));
      decipher.setAuthTag(wrapped.subarray(wrapped.length - TAG));
      return Buffer.concat([decipher.update(wrapped.subarray(NONCE, wrapped.length - TAG)), decipher.final()]);
    },

    /** Asks the command again; it must name a new current key and still list the old ones. */
    async rotate() {
      const before = loaded();
      const next = await fetchKeks();
      if (next.current === before.current)
        throw new Error(`${KEK_COMMAND}: the command still names ${before.current} as current; print a new current key first`);
      for (const id of before.keys.keys()) {
        if (!next.keys.has(id)) throw new Error(`${KEK_COMMAND}: the command dropped KEK ${id} before the rotation re-wrapped its data keys`);
      }
      keks = next;
    },
  };
}

function parseKeks(stdout: string): Keks {
  let doc: { current?: unknown; keys?: unknown };
  try {
    doc = JSON.parse(stdout) as typeof doc;
  } catch {
    throw new Error(`${KEK_COMMAND}: the command must print {"current": ID, "keys": {ID: base64, …}}`);
  }
  const keys = new Map<string, Buffer>();
  for (const [id, b64] of Object.entries((doc.keys ?? {}) as Record<string, unknown>)) {
    const key = typeof b64 === 'string' ? Buffer.from(b64, 'base64') : Buffer.alloc(0);
    if (!KEY_ID.test(id) || key.length !== 32) throw new Error(`${KEK_COMMAND}: KEK ids are 1 to 255 printable ASCII characters and keys 32 bytes of base64`);
    keys.set(id, key);
  }
  if (typeof doc.current !== 'string' || !keys.has(doc.current)) throw new Error(`${KEK_COMMAND}: "current" must name one of "keys"`);
  return { current: doc.current, keys };
}

function aad(keyId: string, context: string): Buffer {
  return Buffer.from(`kek-command/${keyId}/${context}`, 'utf8');
}

export default createKekCommandProvider();
