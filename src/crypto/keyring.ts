/**
 * The daemon's sealing keys, kept in the data root as `keyring.json` (mode 0600). A fresh data
 * root gets one random 256-bit key. The file holds a list with one `current` key, so a later
 * rotation can add keys and still open what older ones sealed.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, fsyncSync, openSync, readFileSync, renameSync, statSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { EnvelopeError, open, seal, sealedKeyId, type SealingKey } from './envelope.ts';

export const KEYRING_FILE = 'keyring.json';

interface KeyringFile {
  format: 1;
  current: string;
  keys: { id: string; key: string; createdAt: string }[];
}

export class Keyring {
  private constructor(
    private readonly keys: Map<string, SealingKey>,
    private readonly current: SealingKey,
  ) {}

  /** Loads `<dataRoot>/keyring.json`, creating it with a new key if it does not exist. */
  static openOrCreate(dataRoot: string): Keyring {
    const file = join(dataRoot, KEYRING_FILE);
    let parsed: KeyringFile;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8')) as KeyringFile;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot read ${file}: ${(e as Error).message}`);
      parsed = {
        format: 1,
        current: 'k1',
        keys: [{ id: 'k1', key: randomBytes(32).toString('base64'), createdAt: new Date().toISOString() }],
      };
      writeFileDurably(file, JSON.stringify(parsed, null, 2) + '\n', 0o600);
    }
    if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
    const keys = new Map(parsed.keys.map((k) => [k.id, { id: k.id, key: Buffer.from(k.key, 'base64') }]));
    const current = keys.get(parsed.current);
    if (!current || current.key.length !== 32) throw new Error(`${file}: the current key is missing or not 256 bits`);
    return new Keyring(keys, current);
  }

  seal(plaintext: Uint8Array, aad: string): Buffer {
    return seal(this.current, plaintext, aad);
  }

  open(sealed: Uint8Array, aad: string): Buffer {
    const key = this.keys.get(sealedKeyId(sealed));
    if (!key) throw new EnvelopeError('sealed with a key this keyring does not hold');
    return open(key, sealed, aad);
  }
}

/** Write to a temporary file, fsync, rename, fsync the folder: the file is whole or absent. */
export function writeFileDurably(file: string, content: string, mode: number): void {
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w', mode);
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  const dir = openSync(dirname(file), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}
