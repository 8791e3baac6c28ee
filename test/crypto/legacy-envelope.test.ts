/**
 * Sealed values of format 1 (src/crypto/legacy-envelope.ts), written before envelope
 * encryption and still opened to migrate older data roots: what opens, and what must not.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { EnvelopeError, open, seal, sealedKeyId, type SealingKey } from '../../src/crypto/legacy-envelope.ts';
import { newId } from '../../src/core/ids.ts';

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
