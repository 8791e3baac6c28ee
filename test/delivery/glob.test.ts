/**
 * Scope patterns: the two-pointer matcher agrees with a regular-expression oracle on random
 * patterns and names, and stays fast on inputs that make a backtracking RegExp take minutes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { globMatch } from '../../src/delivery/glob.ts';

/** The oracle: `*` as `[^]*`, everything else escaped (only ever run on short strings here). */
function oracle(pattern: string, name: string): boolean {
  const body = pattern
    .split('*')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&'))
    .join('[^]*');
  return new RegExp(`^${body}$`).test(name);
}

test('globMatch agrees with the RegExp oracle on random patterns and names', () => {
  const alphabet = fc.constantFrom('a', 'b', '-', '.', '*');
  const text = (max: number) => fc.array(alphabet, { maxLength: max }).map((cs) => cs.join(''));
  fc.assert(
    fc.property(text(10), text(14), (pattern, raw) => {
      const name = raw.replace(/\*/g, 'a'); // names hold no `*`
      assert.equal(globMatch(pattern, name), oracle(pattern, name), `${JSON.stringify(pattern)} vs ${JSON.stringify(name)}`);
    }),
    { numRuns: 5000 },
  );
});

test('examples: literal characters, runs, empty runs, anchoring at both ends', () => {
  const cases: [string, string, boolean][] = [
    ['app.*', 'app.db', true],
    ['app.*', 'app.', true],
    ['app.*', 'xapp.db', false],
    ['app.*', 'app', false],
    ['*', '', true],
    ['*', 'anything', true],
    ['a*b*c', 'abc', true],
    ['a*b*c', 'aXbYc', true],
    ['a*b*c', 'aXbYcZ', false],
    ['*-*-*', 'a-b-c', true],
    ['*-*-*', 'a-b', false],
    ['db', 'DB', false],
    ['a.b', 'aXb', false],
    ['**', 'x', true],
  ];
  for (const [p, n, want] of cases) assert.equal(globMatch(p, n), want, `${p} vs ${n}`);
});

test('the inputs that stall a backtracking RegExp answer at once', () => {
  // `*-*-*` against a long run of dashes with no final match was 58 s through RegExp.
  const hostile: [string, string][] = [
    ['*-*-*-*-*-*-*-*x', '-'.repeat(20_000)],
    ['*a*a*a*a*a*a*a*a*a*a*b', 'a'.repeat(20_000)],
  ];
  for (const [p, n] of hostile) {
    const t0 = performance.now();
    assert.equal(globMatch(p, n), false);
    const ms = performance.now() - t0;
    assert.ok(ms < 500, `${p} took ${ms.toFixed(0)} ms`);
  }
});
