/**
 * The audit log over a real SQLite store's journal: lines are durable in the store's commit, the
 * file copies them in order, a start copies the lines a crash kept from the file (whole or cut),
 * the journal is trimmed once the file is flushed, and lines the store cannot take are flushed
 * to the file directly.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { parseHead, verifyChain } from '../../src/audit/chain.ts';
import type { AuditEvent } from '../../src/audit/events.ts';
import { AuditLog } from '../../src/audit/log.ts';
import { SqliteStore } from '../../src/store/sqlite.ts';

const dir = mkdtempSync(join(tmpdir(), 'secretd-journal-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
function fresh(): { file: string; db: string } {
  const d = join(dir, `case-${++n}`);
  return { file: join(d, 'audit.log'), db: join(d, 'secretd.db') };
}

const event = (name: string, result = 'ok'): AuditEvent => ({ who: { transport: 'unix' }, action: 'secret.create', secret: { name }, result, status: 201 });
const names = (file: string) =>
  readFileSync(file, 'utf8')
    .trimEnd()
    .split('\n')
    .map((l) => (JSON.parse(l) as { secret?: { name: string } }).secret?.name);
const verify = (file: string) => verifyChain(readFileSync(file), parseHead(readFileSync(`${file}.head`, 'utf8').trim()));
const journalRows = (db: string) => {
  const peek = new Database(db, { readonly: true });
  try {
    return peek.prepare<[], { seq: number; line: string }>('SELECT seq, line FROM audit_journal ORDER BY seq').all();
  } finally {
    peek.close();
  }
};

/** Waits for `check` to hold, up to 10 s. */
async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`not within 10 s: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function open(paths: { file: string; db: string }): Promise<{ log: AuditLog; store: SqliteStore }> {
  const log = await AuditLog.prepare(paths.file);
  const store = new SqliteStore(paths.db);
  await log.begin(store.journal);
  return { log, store };
}

describe('AuditLog over the store journal', () => {
  test('each line is in the journal and in the file when record resolves; the journal empties once the file is flushed', async () => {
    const paths = fresh();
    const { log, store } = await open(paths);
    await Promise.all(Array.from({ length: 50 }, (_, i) => log.record(event(`s${i}`))));
    assert.deepEqual(
      names(paths.file),
      Array.from({ length: 50 }, (_, i) => `s${i}`),
    );
    await until(() => journalRows(paths.db).length === 0, 'the journal is trimmed after the file flush');
    await log.close();
    await store.close();
    assert.equal(verify(paths.file).problem, undefined);
  });

  test('lines the file lost in a crash are copied back from the journal, a cut line completed, and the chain continues', async () => {
    const paths = fresh();
    // Five chained lines, as a daemon wrote them; then the state a crash leaves: the journal holds
    // lines 3 to 5 (durable in the store), the file lines 1 and 2 and half of line 3.
    const plain = await AuditLog.open(paths.file);
    for (const s of ['a', 'b', 'c', 'd', 'e']) await plain.record(event(s));
    await plain.close();
    const text = readFileSync(paths.file, 'utf8');
    const lines = text.trimEnd().split('\n');
    new SqliteStore(paths.db).close();
    const db = new Database(paths.db);
    const insert = db.prepare<[number, string]>('INSERT INTO audit_journal (seq, line) VALUES (?, ?)');
    for (const i of [2, 3, 4]) insert.run(i + 1, lines[i]!);
    db.close();
    const cut = lines[0]!.length + 1 + lines[1]!.length + 1 + Math.floor(lines[2]!.length / 2);
    truncateSync(paths.file, cut);

    const { log, store } = await open(paths);
    assert.equal(readFileSync(paths.file, 'utf8'), text, 'the file is exactly as it was written');
    await log.record(event('f'));
    assert.deepEqual(names(paths.file), ['a', 'b', 'c', 'd', 'e', 'f']);
    assert.deepEqual(verify(paths.file).notes, []);
    assert.equal(verify(paths.file).problem, undefined);
    await until(() => journalRows(paths.db).every((r) => r.seq > 6), 'the copied lines leave the journal once the file is flushed');
    await log.close();
    await store.close();
  });

  test('a refusal because the store is failing is flushed to the file directly, in order with the journaled lines', async () => {
    const paths = fresh();
    const { log, store } = await open(paths);
    await Promise.all([log.record(event('x')), log.record(event('busy', 'unavailable')), log.record(event('y'))]);
    assert.deepEqual(names(paths.file), ['x', 'busy', 'y']);
    assert.ok(!journalRows(paths.db).some((r) => r.line.includes('"busy"')), 'the refusal is not given to the failing store');
    await log.close();
    await store.close();
    assert.equal(verify(paths.file).problem, undefined);
  });

  test('a line the store cannot take (another connection holds its lock) is flushed to the file directly, after the WAL', async () => {
    const paths = fresh();
    const { log, store } = await open(paths);
    await log.record(event('before'));
    const other = new Database(paths.db);
    try {
      other.exec('BEGIN IMMEDIATE'); // the store's journal write waits out its busy_timeout, then fails
      await log.record(event('locked'));
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    await log.record(event('after'));
    assert.deepEqual(names(paths.file), ['before', 'locked', 'after']);
    assert.ok(!journalRows(paths.db).some((r) => r.line.includes('"locked"')));
    await log.close();
    await store.close();
    assert.equal(verify(paths.file).problem, undefined);
  });
});
