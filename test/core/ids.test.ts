/**
 * Object IDs as swarmkit's identity.NewID makes them, and timestamps as Go prints a time.Time
 * in JSON (RFC 3339 with up to nine fraction digits, trailing zeros trimmed).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { nowNs, rfc3339Nano } from '../../src/core/clock.ts';
import { ID_LENGTH, looksLikeFullId, newId } from '../../src/core/ids.ts';

const RFC3339_NANO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/;

/** Nanoseconds since the epoch of an rfc3339Nano string, exactly. */
function parseNs(s: string): bigint {
  const m = /^(.{19})(?:\.(\d{1,9}))?Z$/.exec(s);
  assert.ok(m, s);
  const seconds = BigInt(Date.parse(`${m[1]}Z`) / 1000);
  return seconds * 1_000_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}

describe('newId', () => {
  test('always gives 25 characters of [a-z0-9], unique over 10 000 calls', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 10_000; i++) {
      const id = newId();
      assert.match(id, /^[a-z0-9]{25}$/);
      seen.add(id);
    }
    assert.equal(seen.size, 10_000);
    assert.equal(ID_LENGTH, 25);
  });

  test('gives IDs that looksLikeFullId recognises', () => {
    for (let i = 0; i < 100; i++) assert.equal(looksLikeFullId(newId()), true);
  });

  test('uses every character of the alphabet across many IDs', () => {
    const chars = new Set(Array.from({ length: 2_000 }, () => newId()).join(''));
    assert.equal(chars.size, 36);
  });
});

describe('looksLikeFullId', () => {
  const cases: [input: string, full: boolean][] = [
    ['a'.repeat(25), true],
    ['0123456789abcdefghijklmno', true],
    ['a'.repeat(24), false],
    ['a'.repeat(26), false],
    ['A'.repeat(25), false],
    [`${'a'.repeat(24)}-`, false],
    ['', false],
  ];
  for (const [input, full] of cases) {
    test(`${full ? 'recognises' : 'refuses'} ${JSON.stringify(input)}`, () => assert.equal(looksLikeFullId(input), full));
  }
});

describe('rfc3339Nano', () => {
  const formatted: [ns: bigint, text: string][] = [
    [0n, '1970-01-01T00:00:00Z'],
    [1n, '1970-01-01T00:00:00.000000001Z'],
    [1_500_000_000n, '1970-01-01T00:00:01.5Z'],
    [1_000_000_000n, '1970-01-01T00:00:01Z'],
    [123_456_789n, '1970-01-01T00:00:00.123456789Z'],
    [1_700_000_000_120_000_000n, '2023-11-14T22:13:20.12Z'],
    [1_700_000_000_999_999_999n, '2023-11-14T22:13:20.999999999Z'],
    [1_700_000_000_000_001_000n, '2023-11-14T22:13:20.000001Z'],
  ];
  for (const [ns, text] of formatted) {
    test(`prints ${ns} ns as ${text}`, () => assert.equal(rfc3339Nano(ns), text));
  }

  test('prints the current time in RFC 3339 with no trailing fraction zeros, non-decreasing over 10 000 calls', () => {
    let previous = -1n;
    const before = BigInt(Date.now() - 1000) * 1_000_000n;
    for (let i = 0; i < 10_000; i++) {
      const s = rfc3339Nano();
      assert.match(s, RFC3339_NANO);
      assert.doesNotMatch(s, /\.\d*0Z$/, `${s} has a trailing zero`);
      const ns = parseNs(s);
      assert.ok(ns >= previous, `${s} is before the previous value`);
      previous = ns;
    }
    assert.ok(previous >= before && previous <= BigInt(Date.now() + 1000) * 1_000_000n, 'close to the wall clock');
  });

  test('the current time agrees with nowNs, printed through the BigInt path', () => {
    for (let i = 0; i < 1000; i++) {
      const printed = parseNs(rfc3339Nano());
      const later = nowNs();
      assert.ok(printed <= later && later - printed < 1_000_000_000n, `${printed} then ${later}`);
      const ns = nowNs();
      assert.equal(parseNs(rfc3339Nano(ns)), ns);
    }
  });
});
