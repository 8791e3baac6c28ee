/**
 * The built-in key provider: the KEKs in one file, `keyring.json` in the data root (mode 0600),
 * or the file `--keyring FILE` names (daemons sharing one etcd are started with copies of one
 * file). A missing file is created with one random 256-bit key, but only for a store that holds
 * nothing sealed (src/crypto/keyring-check.ts refuses the start otherwise). The file lists every KEK still
 * wrapping some data key and names the `current` one; rotation adds a key, and the old ones go
 * once nothing uses them. With autolock on, the list is stored encrypted under the unlock key
 * (src/crypto/autolock.ts).
 *
 * File forms (JSON):
 *   {"format":1|2, "current":"k1", "keys":[{"id":"k1","key":"<base64>","createdAt":"…"}]}
 *   {"format":2, "locked":{"kdf":"hkdf-sha256","cipher":"aes-256-gcm","salt","nonce","sealed"}}
 * Format 1 is what secretd wrote before envelope encryption; it is read as is, and rewritten as
 * format 2 at its first change.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { closeSync, constants, fchmodSync, fstatSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { StartRefused } from '../core/errors.ts';
import { createFileDurably, openOwnFile, SymlinkRefused, writeFileDurably } from '../durable-files.ts';
import { lockPayload, parseUnlockKey, unlockPayload, type LockedPayload } from './autolock.ts';
import { freshRandomBytes } from '../core/random.ts';
import { EnvelopeError } from './envelope.ts';
import type { SealingKey } from './legacy-envelope.ts';
import type { KeyProvider } from './types.ts';

export const KEYRING_FILE = 'keyring.json';

interface KeyEntry {
  id: string;
  key: string;
  createdAt: string;
}

interface KeyList {
  current: string;
  keys: KeyEntry[];
}

type KeyFile = ({ format: 1 | 2 } & KeyList) | { format: 2; locked: LockedPayload };

/** The key file cannot be read or parsed: the daemon does not start (and writes nothing). */
export class KeyFileUnreadable extends StartRefused {}

const NONCE = 12;
const TAG = 16;

/** A key file that autolock keeps encrypted: nothing opens until `unlock` gets the right key. */
export class LockedKeyFile {
  readonly file: string;
  private readonly payload: LockedPayload;
  constructor(file: string, payload: LockedPayload) {
    this.file = file;
    this.payload = payload;
  }

  /** Throws MalformedUnlockKey or WrongUnlockKey (src/crypto/autolock.ts). */
  unlock(unlockKeyText: string): Keyring {
    const unlockKey = parseUnlockKey(unlockKeyText);
    const list = JSON.parse(unlockPayload(unlockKey, this.payload).toString('utf8')) as KeyList;
    return new Keyring(this.file, list, unlockKey);
  }
}

export class Keyring implements KeyProvider {
  readonly kind = 'key-provider';
  readonly name = 'file';
  private readonly keys = new Map<string, { key: Buffer; createdAt: string }>();
  private current: string;

  readonly file: string;
  private unlockKeyBytes?: Buffer;
  /** Use `load`, `openOrCreateFile` or `createFresh`. */
  constructor(file: string, list: KeyList, unlockKeyBytes?: Buffer) {
    this.file = file;
    this.unlockKeyBytes = unlockKeyBytes;
    for (const k of list.keys) this.keys.set(k.id, { key: Buffer.from(k.key, 'base64'), createdAt: k.createdAt });
    this.current = list.current;
    if (this.keys.get(this.current)?.key.length !== 32) throw new Error(`${file}: the current key is missing or not 256 bits`);
  }

  /**
   * Loads a key file, creating it (and its folder, 0700) with a new key if it does not exist;
   * locked if autolock is on. A symbolic link at `file` is refused, not followed. Whether a
   * missing file may be created is the caller's call (src/crypto/keyring-check.ts).
   */
  static load(file: string): Keyring | LockedKeyFile {
    let text = readOwn(file);
    if (text === undefined) {
      const fresh = JSON.stringify(freshFile(), null, 2) + '\n';
      try {
        mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
        text = createFileDurably(file, fresh, 0o600) ? fresh : readOwn(file);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (!code || code === 'ENOSPC' || code === 'EDQUOT') throw e; // a full disk is reported as such
        throw new KeyFileUnreadable(`cannot create the keyring ${file} (${code}): check the path given to --keyring and the permissions of its folder`, {
          cause: e,
        });
      }
      if (text === undefined) throw new KeyFileUnreadable(`cannot read the keyring ${file}: it vanished while being created`);
    }
    let parsed: KeyFile;
    try {
      parsed = JSON.parse(text) as KeyFile;
    } catch (e) {
      throw new KeyFileUnreadable(`the keyring ${file} is not valid JSON (${(e as Error).message}): restore it from a backup`);
    }
    if (parsed.format !== 1 && parsed.format !== 2)
      throw new KeyFileUnreadable(`${file}: unknown key file format ${String((parsed as { format?: unknown }).format)}`);
    if ('locked' in parsed) return new LockedKeyFile(file, parsed.locked);
    return new Keyring(file, parsed);
  }

  /** Loads `<dataRoot>/keyring.json`, creating it if needed; throws if it is locked. */
  static openOrCreate(dataRoot: string): Keyring {
    return Keyring.openOrCreateFile(join(dataRoot, KEYRING_FILE));
  }

  static openOrCreateFile(file: string): Keyring {
    const loaded = Keyring.load(file);
    if (loaded instanceof LockedKeyFile) throw new StartRefused(`${file} is locked (autolock): unlock the daemon first`);
    return loaded;
  }

  /** Replaces the file with a new key list (after leaving the swarm: nothing is sealed any more). */
  static createFresh(file: string): Keyring {
    const fresh = freshFile();
    writeFileDurably(file, JSON.stringify(fresh, null, 2) + '\n', 0o600);
    return new Keyring(file, fresh);
  }

  currentKeyId(): string {
    return this.current;
  }

  keyIds(): string[] {
    return [...this.keys.keys()];
  }

  wrap(dataKey: Buffer, context: string): { keyId: string; wrapped: Buffer } {
    const keyId = this.current;
    const nonce = freshRandomBytes(NONCE);
    const cipher = createCipheriv('aes-256-gcm', this.keys.get(keyId)!.key, nonce, { authTagLength: TAG });
    cipher.setAAD(wrapAad(keyId, context));
    return { keyId, wrapped: Buffer.concat([nonce, cipher.update(dataKey), cipher.final(), cipher.getAuthTag()]) };
  }

  unwrap(keyId: string, wrapped: Buffer, context: string): Buffer {
    const kek = this.keys.get(keyId)?.key;
    if (!kek) throw new EnvelopeError(`sealed with KEK ${keyId}, which ${this.file} does not hold`);
    if (wrapped.length < NONCE + TAG) throw new EnvelopeError('truncated wrapped data key');
    const decipher = createDecipheriv('aes-256-gcm', kek, wrapped.subarray(0, NONCE), { authTagLength: TAG });
    decipher.setAAD(wrapAad(keyId, context));
    decipher.setAuthTag(wrapped.subarray(wrapped.length - TAG));
    try {
      return Buffer.concat([decipher.update(wrapped.subarray(NONCE, wrapped.length - TAG)), decipher.final()]);
    } catch {
      throw new EnvelopeError('wrapped data key does not authenticate (wrong KEK, or moved to another record)');
    }
  }

  /** Adds a new current key; the file is on disk with it before any data key is wrapped by it. */
  rotate(): void {
    const next = Math.max(0, ...[...this.keys.keys()].map((id) => Number(/^k(\d+)$/.exec(id)?.[1] ?? 0))) + 1;
    const id = `k${next}`;
    this.keys.set(id, { key: randomBytes(32), createdAt: new Date().toISOString() });
    const previous = this.current;
    this.current = id;
    try {
      this.save();
    } catch (e) {
      this.current = previous;
      this.keys.delete(id);
      throw e;
    }
  }

  retain(keyIds: string[]): void {
    const keep = new Set([...keyIds, this.current]);
    const dropped = [...this.keys.keys()].filter((id) => !keep.has(id));
    if (dropped.length === 0) return;
    const saved = new Map(this.keys);
    for (const id of dropped) this.keys.delete(id);
    try {
      this.save();
    } catch (e) {
      for (const [id, k] of saved) this.keys.set(id, k);
      throw e;
    }
  }

  /** A format-1 sealing key (the KEKs of a migrated file were its sealing keys). */
  legacyKey(id: string): SealingKey | undefined {
    const k = this.keys.get(id);
    return k && { id, key: k.key };
  }

  /** The unlock key while autolock is on. */
  get unlockKey(): Buffer | undefined {
    return this.unlockKeyBytes;
  }

  /** Autolock on (with this key) or off (undefined): the file is rewritten locked or in the clear. */
  setUnlockKey(unlockKey: Buffer | undefined): void {
    const previous = this.unlockKeyBytes;
    this.unlockKeyBytes = unlockKey;
    try {
      this.save();
    } catch (e) {
      this.unlockKeyBytes = previous;
      throw e;
    }
  }

  private save(): void {
    const list: KeyList = {
      current: this.current,
      keys: [...this.keys].map(([id, k]) => ({ id, key: k.key.toString('base64'), createdAt: k.createdAt })),
    };
    const content: KeyFile = this.unlockKeyBytes
      ? { format: 2, locked: lockPayload(this.unlockKeyBytes, Buffer.from(JSON.stringify(list))) }
      : { format: 2, ...list };
    writeFileDurably(this.file, JSON.stringify(content, null, 2) + '\n', 0o600);
  }
}

/** The file's text, or undefined when it does not exist; mode narrowed to 0600 on the open descriptor. */
function readOwn(file: string): string | undefined {
  let fd: number;
  try {
    fd = openOwnFile(file, constants.O_RDONLY);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    if (e instanceof SymlinkRefused) throw e;
    throw new KeyFileUnreadable(
      `cannot read the keyring ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): check the path given to --keyring and its permissions`,
    );
  }
  try {
    if ((fstatSync(fd).mode & 0o077) !== 0) fchmodSync(fd, 0o600);
    return readFileSync(fd, 'utf8');
  } catch (e) {
    // A read through the descriptor names no path: name the keyring (a folder there is EISDIR).
    if (typeof (e as NodeJS.ErrnoException).code === 'string') (e as NodeJS.ErrnoException).path ??= file;
    throw e;
  } finally {
    closeSync(fd);
  }
}

function freshFile(): { format: 2 } & KeyList {
  return { format: 2, current: 'k1', keys: [{ id: 'k1', key: randomBytes(32).toString('base64'), createdAt: new Date().toISOString() }] };
}

function wrapAad(keyId: string, context: string): Buffer {
  return Buffer.from(`secretd/data-key/${keyId}/${context}`, 'utf8');
}
