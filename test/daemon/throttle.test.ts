/** Rate-limited warnings: a few per window, the rest counted and reported with the next one. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { throttle } from '../../src/daemon/throttle.ts';

test('at most N lines per window; the dropped count comes with the next line', () => {
  let now = 0;
  const lines: [number, number][] = [];
  const warn = throttle<number>(
    (n, dropped) => lines.push([n, dropped]),
    3,
    1000,
    () => now,
  );
  for (let i = 0; i < 1000; i++) warn(i);
  assert.deepEqual(lines, [
    [0, 0],
    [1, 0],
    [2, 0],
  ]);
  now = 1000;
  warn(1000);
  warn(1001);
  assert.deepEqual(lines.slice(3), [
    [1000, 997],
    [1001, 0],
  ]);
});
