/**
 * deferDurability's scope: seen across awaits inside its work, closed for what the work left
 * running, independent between overlapping requests, and costing nothing once every scope is
 * closed (promises are no longer tracked, so reads pay no hook).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setImmediate as turn } from 'node:timers/promises';
import { describe, test } from 'node:test';
import { deferDurability, durabilityDeferred } from '../../src/store/deferred-durability.ts';

const MODULE = fileURLToPath(new URL('../../src/store/deferred-durability.ts', import.meta.url));

describe('deferDurability', () => {
  test('the scope holds across awaits inside the work, and not outside it', async () => {
    assert.equal(durabilityDeferred(), false);
    const seen = await deferDurability(async () => {
      const first = durabilityDeferred();
      await turn();
      return [first, durabilityDeferred()];
    });
    assert.deepEqual(seen, [true, true]);
    assert.equal(durabilityDeferred(), false);
  });

  test('work left running after its scope closed sees it closed, while another scope is still open', async () => {
    let release!: () => void;
    const later = new Promise<void>((r) => (release = r));
    let leftOver: Promise<boolean> | undefined;
    let otherSaw: boolean | undefined;
    let otherDone!: () => void;
    const other = deferDurability(async () => {
      await new Promise<void>((r) => (otherDone = r));
      otherSaw = durabilityDeferred();
    });
    await deferDurability(async () => {
      leftOver = later.then(() => durabilityDeferred());
    });
    release();
    assert.equal(await leftOver, false, 'the walk a closed scope started waits for its own flush');
    otherDone();
    await other;
    assert.equal(otherSaw, true, 'closing one scope leaves an overlapping one open');
  });

  test('a failing work closes its scope, and scopes open again after all were closed', async () => {
    await assert.rejects(
      deferDurability(async () => {
        throw new Error('refused');
      }),
      /refused/,
    );
    assert.equal(durabilityDeferred(), false);
    const reopened = await deferDurability(async () => {
      await turn();
      return durabilityDeferred();
    });
    assert.equal(reopened, true);
  });

  test('promises are tracked only while a scope is open', () => {
    // In a process of its own: the test runner tracks promises for itself.
    const script = `
      import { executionAsyncId } from 'node:async_hooks';
      import { deferDurability } from ${JSON.stringify(MODULE)};
      async function promisesTracked() {
        await null;
        const a = executionAsyncId();
        await null;
        return executionAsyncId() !== a;
      }
      const before = await promisesTracked();
      let inside;
      await deferDurability(async () => { inside = await promisesTracked(); });
      console.log(JSON.stringify([before, inside, await promisesTracked()]));`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), [false, true, false], 'with no scope open, no hook runs at every promise');
  });
});
