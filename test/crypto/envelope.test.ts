/**
 * Sealed values (src/crypto/envelope.ts) and the keyring that holds their keys
 * (src/crypto/keyring.ts): what opens, what must not, and the key file on disk.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { EnvelopeError, open, seal, sealedKeyId, type SealingKey } from '../../src/crypto/envelope.ts';
import { KEYRING_FILE, Keyring } from '../../src/crypto/keyring.ts';
import { newId } from '../../src/secrets/ids.ts';

const roots: string[] = [];
function dataRoot(): string {
  const dir = mkdtempSync(join(tmpdir(), 'secretd-keyring-'));
  roots.push(dir);
  return dir;
}
after(() => {
  for (const dir of roots) rmSync(dir, { recursive: true, force: true });
});

const key = (id = 'k1'): SealingKey => ({ id, key: randomBytes(32) });
const aad = (id: string) => `secretd/secret/${id}`;
const PLAINTEXT = Buffer.from('correct horse battery staple: the secret value nobody may read');

/** Every copy of `sealed` with one byte flipped. */
function* flipped(sealed: Buffer): Generator<[index: number, tampered: Buffer]> {
  for (let i = 0; i < sealed.length; i++) {
    const tampered = Buffer.from(sealed);
    tampered[i]! ^= 0x01;
    yield [i, tampered];
  }
}

describe('seal and open', () => {
  const plaintexts: [title: string, bytes: Buffer][] = [
    ['an empty value', Buffer.alloc(0)],
    ['one byte', Buffer.from([0])],
    ['text', PLAINTEXT],
    ['every byte value', Buffer.from(Array.from({ length: 256 }, (_, i) => i))],
    ['500 KiB of random bytes', randomBytes(500 * 1024)],
  ];
  for (const [title, bytes] of plaintexts) {
    test(`open returns what seal sealed: ${title}`, () => {
      const k = key();
      const id = newId();
      const sealed = seal(k, bytes, aad(id));
      assert.ok(open(k, sealed, aad(id)).equals(bytes));
    });
  }

  test('open reads a sealed value held in a Uint8Array view into a larger buffer', () => {
    const k = key();
    const sealed = seal(k, PLAINTEXT, 'ctx');
    const pool = Buffer.concat([Buffer.from('prefix'), sealed, Buffer.from('suffix')]);
    const view = new Uint8Array(pool.buffer, pool.byteOffset + 6, sealed.length);
    assert.ok(open(k, view, 'ctx').equals(PLAINTEXT));
    assert.equal(sealedKeyId(view), 'k1');
  });

  test('the sealed value names the key that sealed it', () => {
    assert.equal(sealedKeyId(seal(key('k7'), PLAINTEXT, 'ctx')), 'k7');
    assert.equal(sealedKeyId(seal(key('a-longer-key-id'), PLAINTEXT, 'ctx')), 'a-longer-key-id');
  });

  test('the plaintext does not occur in the sealed bytes', () => {
    const sealed = seal(key(), PLAINTEXT, aad(newId()));
    assert.equal(sealed.indexOf(PLAINTEXT), -1);
    assert.equal(sealed.indexOf(PLAINTEXT.subarray(0, 16)), -1);
    assert.equal(sealed.toString('latin1').includes('correct horse'), false);
  });

  test('sealing the same value twice gives different bytes (a fresh nonce each time)', () => {
    const k = key();
    assert.notDeepEqual(seal(k, PLAINTEXT, 'ctx'), seal(k, PLAINTEXT, 'ctx'));
  });

  test('a sealed value is the plaintext length plus a fixed overhead', () => {
    const k = key('k1');
    // 1 format + 1 key-id length + 2 key id + 12 nonce + 16 tag.
    assert.equal(seal(k, PLAINTEXT, 'ctx').length, PLAINTEXT.length + 32);
  });

  test('open refuses a sealed value with any single byte flipped', () => {
    const k = key();
    const id = newId();
    const sealed = seal(k, PLAINTEXT, aad(id));
    const opened: number[] = [];
    for (const [i, tampered] of flipped(sealed)) {
      try {
        open(k, tampered, aad(id));
        opened.push(i);
      } catch (e) {
        assert.ok(e instanceof EnvelopeError, `byte ${i}: ${String(e)}`);
      }
    }
    // The header counts too: a changed key id (bytes 2..3 here) must not open either.
    assert.deepEqual(opened, [], `opened despite a flipped byte at ${opened.join(', ')}`);
  });

  test('open refuses a truncated or extended sealed value', () => {
    const k = key();
    const sealed = seal(k, PLAINTEXT, 'ctx');
    for (const cut of [0, 1, 2, 4, 16, 31, sealed.length - 1]) {
      assert.throws(() => open(k, sealed.subarray(0, cut), 'ctx'), EnvelopeError, `cut at ${cut}`);
    }
    assert.throws(() => open(k, Buffer.concat([sealed, Buffer.from([0])]), 'ctx'), EnvelopeError);
  });

  test('open refuses a value sealed for another record (another AAD)', () => {
    const k = key();
    const [a, b] = [newId(), newId()];
    const sealed = seal(k, PLAINTEXT, aad(a));
    assert.throws(() => open(k, sealed, aad(b)), EnvelopeError);
    assert.throws(() => open(k, sealed, ''), EnvelopeError);
    assert.throws(() => open(k, sealed, aad(a).toUpperCase()), EnvelopeError);
  });

  test('open refuses a value sealed with another key of the same id', () => {
    const sealed = seal(key('k1'), PLAINTEXT, 'ctx');
    assert.throws(() => open(key('k1'), sealed, 'ctx'), EnvelopeError);
  });

  test('sealedKeyId refuses bytes of an unknown format', () => {
    assert.throws(() => sealedKeyId(Buffer.alloc(0)), EnvelopeError);
    assert.throws(() => sealedKeyId(Buffer.from([2, 2, 0x6b, 0x31])), EnvelopeError);
  });
});

describe('Keyring', () => {
  test('openOrCreate creates keyring.json with mode 0600 in a fresh data root', () => {
    const root = dataRoot();
    Keyring.openOrCreate(root);
    const file = join(root, KEYRING_FILE);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as { current: string; keys: { id: string; key: string }[] };
    const current = parsed.keys.find((k) => k.id === parsed.current);
    assert.ok(current);
    assert.equal(Buffer.from(current.key, 'base64').length, 32);
  });

  test('openOrCreate tightens a keyring.json that others can read back to 0600', () => {
    const root = dataRoot();
    Keyring.openOrCreate(root);
    const file = join(root, KEYRING_FILE);
    chmodSync(file, 0o644);
    Keyring.openOrCreate(root);
    assert.equal(statSync(file).mode & 0o777, 0o600);
  });

  test('a reopened keyring opens what the first one sealed', () => {
    const root = dataRoot();
    const id = newId();
    const sealed = Keyring.openOrCreate(root).seal(PLAINTEXT, aad(id));
    const before = readFileSync(join(root, KEYRING_FILE), 'utf8');
    const reopened = Keyring.openOrCreate(root);
    assert.ok(reopened.open(sealed, aad(id)).equals(PLAINTEXT));
    assert.equal(readFileSync(join(root, KEYRING_FILE), 'utf8'), before, 'reopening does not rewrite the keys');
  });

  test('a keyring of another data root cannot open the values', () => {
    const id = newId();
    const sealed = Keyring.openOrCreate(dataRoot()).seal(PLAINTEXT, aad(id));
    assert.throws(() => Keyring.openOrCreate(dataRoot()).open(sealed, aad(id)), EnvelopeError);
  });

  test('Keyring.open refuses a sealed value with any single byte flipped', () => {
    const keyring = Keyring.openOrCreate(dataRoot());
    const id = newId();
    const sealed = keyring.seal(PLAINTEXT, aad(id));
    for (const [i, tampered] of flipped(sealed)) {
      assert.throws(() => keyring.open(tampered, aad(id)), EnvelopeError, `byte ${i}`);
    }
  });

  test('Keyring.open refuses a value sealed for another record', () => {
    const keyring = Keyring.openOrCreate(dataRoot());
    const sealed = keyring.seal(PLAINTEXT, aad(newId()));
    assert.throws(() => keyring.open(sealed, aad(newId())), EnvelopeError);
  });

  test('the keyring file does not contain the values it seals', () => {
    const root = dataRoot();
    Keyring.openOrCreate(root).seal(PLAINTEXT, 'ctx');
    assert.equal(readFileSync(join(root, KEYRING_FILE), 'utf8').includes('correct horse'), false);
  });
});
