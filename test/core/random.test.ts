/**
 * freshRandomBytes: draws from a block refilled by OpenSSL, each copied into a buffer of its own
 * and never handed out twice, across many refills of the block.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { freshRandomBytes } from '../../src/core/random.ts';

describe('freshRandomBytes', () => {
  test('gives buffers of the size asked for, each its own memory', () => {
    for (const n of [0, 1, 12, 17, 32, 64, 65, 4096, 10_000]) {
      const b = freshRandomBytes(n);
      assert.equal(b.length, n);
      assert.equal(b.byteOffset, 0, `a draw of ${n} is not a slice of a shared buffer`);
      assert.equal(b.buffer.byteLength, n);
    }
  });

  test('never repeats a draw over many refills of the block, and draws are spread over all byte values', () => {
    const seen = new Set<string>();
    const counts = new Array<number>(256).fill(0);
    const draws = 20_000; // 20 000 × 32 bytes: about 156 refills of a 4 KiB block
    for (let i = 0; i < draws; i++) {
      const b = freshRandomBytes(i % 2 === 0 ? 32 : 12);
      seen.add(b.toString('hex'));
      for (const byte of b) counts[byte]!++;
    }
    assert.equal(seen.size, draws);
    const total = counts.reduce((a, b) => a + b, 0);
    const expected = total / 256;
    // Each of 256 counts of about 1720 stays within 25 % of it unless the bytes are far from uniform.
    for (const [byte, n] of counts.entries()) assert.ok(Math.abs(n - expected) < expected / 4, `byte ${byte}: ${n} of ${total}`);
  });
});
