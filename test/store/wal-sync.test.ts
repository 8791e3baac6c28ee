/**
 * WalSync: the SQLite store's WAL flushes off the event loop, one at a time, and the hook the
 * store's group commit holds its next commit on (afterFlush).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { WalSync } from '../../src/store/wal-sync.ts';

async function withWal(fn: (wal: WalSync, file: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'secretd-walsync-'));
  const file = join(dir, 'secretd.db-wal');
  writeFileSync(file, 'frames');
  const wal = new WalSync(file);
  try {
    await fn(wal, file);
  } finally {
    await wal.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('WalSync', () => {
  test('afterFlush runs at once when no flush runs, and once after the running one settles its waiters', () =>
    withWal(async (wal) => {
      const order: string[] = [];
      assert.equal(wal.flushing, false);
      wal.afterFlush(() => order.push('idle'));
      assert.deepEqual(order, ['idle'], 'no flush running: called at once');

      const first = wal.committed().then(() => order.push('first flushed'));
      assert.equal(wal.flushing, true);
      wal.afterFlush(() => order.push('held'));
      assert.deepEqual(order, ['idle'], 'held while the flush runs');
      await first;
      // Right after the flush resolved its waiters, before their continuations (microtasks) ran.
      assert.deepEqual(order, ['idle', 'held', 'first flushed']);
      assert.equal(wal.flushing, false);
    }));

  test('a commit made in afterFlush is flushed by the same run, and each callback runs once', () =>
    withWal(async (wal) => {
      let calls = 0;
      let second: Promise<void> | undefined;
      const first = wal.committed();
      wal.afterFlush(() => {
        calls++;
        second = wal.committed(); // as the store's flush does: its commit asks for the next flush
      });
      await first;
      assert.ok(second, 'the held callback ran');
      assert.equal(wal.flushing, true, 'the run goes on for the commit made in the callback');
      await second;
      assert.equal(calls, 1);
      assert.equal(wal.flushing, false);
    }));

  test('a failed flush rejects its waiters and still releases what was held', () =>
    withWal(async (wal, file) => {
      rmSync(file); // the WAL file cannot be opened: the flush fails
      let held = false;
      const failed = wal.committed();
      wal.afterFlush(() => {
        held = true;
      });
      await assert.rejects(failed, /ENOENT/);
      assert.equal(held, true, 'a commit held for a flush that failed must not wait forever');
    }));
});
