/**
 * The daemon's sealing keys, kept in the data root as `keyring.json` (mode 0600), or in the file
 * `--keyring FILE` names: daemons sharing one etcd are all started with a copy of the same file.
 * A missing file is created with one random 256-bit key. The file holds a list with one `current`
 * key, so a later rotation can add keys and still open what older ones sealed.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, fsyncSync, linkSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
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
    return Keyring.openOrCreateFile(join(dataRoot, KEYRING_FILE));
  }

  /**
   * Loads a keyring file, creating it with a new key if it does not exist. Several daemons
   * starting together on one new file all end up with the key of the first one to create it.
   */
  static openOrCreateFile(file: string): Keyring {
    let parsed: KeyringFile;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8')) as KeyringFile;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot read ${file}: ${(e as Error).message}`);
      const fresh: KeyringFile = {
        format: 1,
        current: 'k1',
        keys: [{ id: 'k1', key: randomBytes(32).toString('base64'), createdAt: new Date().toISOString() }],
      };
      parsed = createFileDurably(file, JSON.stringify(fresh, null, 2) + '\n', 0o600) ? fresh : (JSON.parse(readFileSync(file, 'utf8')) as KeyringFile);
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

/** As writeFileDurably, but never replaces an existing file: false when `file` already existed. */
function createFileDurably(file: string, content: string, mode: number): boolean {
  const tmp = `${file}.new-${process.pid}`;
  writeFileDurably(tmp, content, mode);
  try {
    linkSync(tmp, file); // atomic, and fails if another process created the file first
    fsyncDir(file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  } finally {
    unlinkSync(tmp);
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
  fsyncDir(file);
}

function fsyncDir(file: string): void {
  const dir = openSync(dirname(file), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}
