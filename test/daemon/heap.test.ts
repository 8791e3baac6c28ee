/**
 * boundHeapGrowth: the daemon bounds its heap's growth (src/daemon/heap.ts) with a flag this
 * node's V8 knows, unless node's own command line names one.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { boundHeapGrowth, HEAP_GROWTH_FLAG } from '../../src/daemon/heap.ts';

describe('boundHeapGrowth', () => {
  test("the flag is one this node's V8 accepts (on the command line an unknown one is refused)", () => {
    const known = spawnSync(process.execPath, [HEAP_GROWTH_FLAG, '-e', ''], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(known.status, 0, known.stderr);
    const unknown = spawnSync(process.execPath, ['--heap-growing-percentage=100', '-e', ''], { encoding: 'utf8', timeout: 30_000 });
    assert.notEqual(unknown.status, 0, 'a misspelt flag is refused, so the check above can fail');
  });

  test('sets it when node was started without one, and leaves one given on the command line', () => {
    const set: string[] = [];
    boundHeapGrowth(['--max-semi-space-size=8'], (f) => set.push(f));
    assert.deepEqual(set, [HEAP_GROWTH_FLAG]);
    for (const given of [['--heap-growing-percent=300'], ['--heap_growing_percent=20'], ['--heap-growing-percent', '50']]) {
      boundHeapGrowth(given, (f) => set.push(f));
    }
    assert.deepEqual(set, [HEAP_GROWTH_FLAG], 'the growth given on the command line wins');
  });
});
