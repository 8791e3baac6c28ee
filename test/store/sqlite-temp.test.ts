/**
 * SQLite's temporary files: a list sorted by ID, larger than the memory SQLite gives a sort
 * before it spills (about the connection's page cache), must not write the names and labels it
 * sorts to a file under the temp folder. SQLITE_TMPDIR points SQLite at a folder of the test's
 * own, watched for any file made there.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, watch, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { rfc3339Nano } from '../../src/core/clock.ts';
import { newId } from '../../src/core/ids.ts';
import { SORT_BELOW, SqliteStore } from '../../src/store/sqlite.ts';

test('a label list sorted by ID larger than the sort memory makes no file in the temp folder', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'secretd-sqlite-temp-'));
  const temp = mkdtempSync(join(tmpdir(), 'secretd-sqlite-tmpdir-'));
  const before = process.env.SQLITE_TMPDIR;
  process.env.SQLITE_TMPDIR = temp; // read by SQLite each time it makes a temp file
  const seen: string[] = [];
  const watcher = watch(temp, (_event, name) => seen.push(String(name)));
  const store = new SqliteStore(join(dir, 'secretd.db'));
  try {
    // Below SORT_BELOW matches (sorted, not walked); some 6 MB to sort, above a reader's 2 MB.
    const n = Math.min(12_000, SORT_BELOW - 1);
    const wide = 'w'.repeat(400);
    for (let i = 0; i < n; i += 2000) {
      await Promise.all(
        Array.from({ length: Math.min(2000, n - i) }, (_, j) =>
          store.createSecret({ id: newId(), name: `t${i + j}`, labels: { sorted: 'yes', wide }, createdAt: rfc3339Nano() }),
        ),
      );
    }
    let rows = 0;
    for await (const page of store.renderedList(new Map([['sorted', 'yes']]))!) {
      for (const part of page) rows += typeof part === 'string' ? part.split('{"ID":').length - 1 : 1;
    }
    assert.equal(rows, n);
    // inotify reports in order: once the marker made now is seen, anything made before it was too.
    writeFileSync(join(temp, 'marker'), '');
    const deadline = Date.now() + 10_000;
    while (!seen.includes('marker')) {
      assert.ok(Date.now() < deadline, 'the watch never reported the marker');
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.deepEqual(
      seen.filter((name) => name !== 'marker'),
      [],
      'SQLite made a temp file',
    );
  } finally {
    watcher.close();
    await store.close();
    if (before === undefined) delete process.env.SQLITE_TMPDIR;
    else process.env.SQLITE_TMPDIR = before;
    rmSync(dir, { recursive: true, force: true });
    rmSync(temp, { recursive: true, force: true });
  }
});
