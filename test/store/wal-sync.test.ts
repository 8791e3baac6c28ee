/**
 * WalSync: the SQLite store's WAL flushes off the event loop, one at a time, each covering every
 * commit made before it started.
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
  test('one flush runs at a time; the commits made while it runs share the next one', () =>
    withWal(async (wal) => {
      assert.equal(wal.flushing, false);
      const first = wal.committed();
      assert.equal(wal.flushing, true);
      const during = [wal.committed(), wal.committed(), wal.committed()];
      await first;
      assert.equal(wal.flushes, 2, 'the three commits made during the first flush were given the second one');
      await Promise.all(during);
      assert.equal(wal.flushes, 2);
      assert.equal(wal.flushing, false);
    }));

  test('a commit made as a flush settles its waiters gets the next flush', () =>
    withWal(async (wal) => {
      let second: Promise<void> | undefined;
      const first = wal.committed().then(() => {
        second = wal.committed(); // as the store's next turn does: its commit asks for a flush
      });
      await first;
      assert.ok(second);
      await second;
      assert.equal(wal.flushes, 2);
      assert.equal(wal.flushing, false);
    }));

  test('a failed flush rejects its waiters, and a later commit is flushed again', () =>
    withWal(async (wal, file) => {
      rmSync(file); // the WAL file cannot be opened: the flush fails
      await assert.rejects(wal.committed(), /ENOENT/);
      assert.equal(wal.flushing, false, 'a failed flush must not leave the next commits waiting');
      writeFileSync(file, 'frames');
      await wal.committed();
      assert.equal(wal.flushes, 2);
    }));
});
