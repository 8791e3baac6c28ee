/**
 * SqliteStore: the Store contract on a temporary file, plus what only SQLite has: the durability
 * pragmas, the file surviving a reopen, and the refusal of a file from a newer secretd.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { rfc3339Nano } from '../../src/core/clock.ts';
import { OutOfSequence } from '../../src/core/errors.ts';
import { newId } from '../../src/core/ids.ts';
import { toView } from '../../src/secrets/types.ts';
import { DRIVER_PROBE, SORT_BELOW, SqliteStore } from '../../src/store/sqlite.ts';
import { ON_MAIN_ROWS, PAGE_ROWS } from '../../src/store/sqlite-listing.ts';
import { RecentRows } from '../../src/store/sqlite-recent-rows.ts';
import type { WalSync } from '../../src/store/wal-sync.ts';
import type { SecretRecord } from '../../src/store/records.ts';
import { storeContract } from './contract.ts';
import { versionsContract } from './contract-versions.ts';

function tempFile(): { file: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'secretd-sqlite-'));
  return { file: join(dir, 'secretd.db'), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

async function openTemp() {
  const { file, remove } = tempFile();
  const store = new SqliteStore(file);
  return {
    store,
    async cleanup() {
      await store.close();
      remove();
    },
  };
}

storeContract('sqlite', openTemp);
versionsContract('sqlite', openTemp);

/** What migrations 3 to 5 added, taken out again: a file as schema 2 left it. */
const SCHEMA_3_UNDONE = `
  DROP TABLE audit_journal; DROP TABLE secret_labels; DROP INDEX secrets_listing;
  DROP TABLE kept_values; DROP TABLE removed_secrets;
  ALTER TABLE secrets DROP COLUMN value_version; ALTER TABLE secrets DROP COLUMN latest_value_version;
  ALTER TABLE secrets DROP COLUMN value_created_at;`;

/** Runs `fn` with a fresh file path; the folder goes afterwards. */
async function withFile(fn: (file: string) => Promise<void>): Promise<void> {
  const { file, remove } = tempFile();
  try {
    await fn(file);
  } finally {
    remove();
  }
}

/** A second, independent connection to the store's file. */
function peek<T>(file: string, fn: (db: Database.Database) => T, readonly = true): T {
  const db = new Database(file, { readonly });
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

describe('SqliteStore only', () => {
  test('the file is in WAL mode, as a second connection sees it', () =>
    withFile(async (file) => {
      const store = new SqliteStore(file);
      try {
        assert.equal(store.kind, 'sqlite');
        assert.equal(
          peek(file, (db) => db.pragma('journal_mode', { simple: true })),
          'wal',
        );
      } finally {
        await store.close();
      }
    }));

  test('audit journal lines are kept and trimmed without changing the read generation; a secret change does change it', () =>
    withFile(async (file) => {
      const store = new SqliteStore(file);
      try {
        const before = store.readGeneration();
        await store.journal.append(1, '{"seq":1}');
        await store.journal.append(2, '{"seq":2}');
        assert.deepEqual(store.journal.linesAfter(1), [{ seq: 2, line: '{"seq":2}' }]);
        await store.journal.trim(1);
        assert.deepEqual(store.journal.linesAfter(0), [{ seq: 2, line: '{"seq":2}' }]);
        assert.equal(store.readGeneration(), before, 'journal lines change no answer');
        await store.createSecret({ id: 'a'.repeat(25), name: 'journaled', labels: {}, createdAt: '2026-01-01T00:00:00Z', sealed: Buffer.from('x') });
        assert.notEqual(store.readGeneration(), before);
      } finally {
        await store.close();
      }
    }));

  test('a write whose audit line follows settles at its commit; any other only once that commit is on disk', () =>
    withFile(async (file) => {
      const store = new SqliteStore(file);
      try {
        const record = (name: string) => ({ id: newId(), name, labels: {}, createdAt: rfc3339Nano(), sealed: Buffer.from('x') });
        const settled: string[] = [];
        // One batch, the plain write first: settled in batch order unless the option is honoured.
        const plain = store.createSecret(record('plain')).then(() => settled.push('plain'));
        const followed = store.createSecret(record('followed'), { auditLineFollows: true }).then(() => settled.push('followed'));
        await Promise.all([plain, followed]);
        assert.deepEqual(settled, ['followed', 'plain']);
      } finally {
        await store.close();
      }
    }));

  test("a write's journal line, queued while its answer runs, shares the WAL flush of the commit before it", () =>
    withFile(async (file) => {
      const store = new SqliteStore(file);
      try {
        const wal = (store as unknown as { wal: WalSync }).wal;
        let seq = 0;
        const record = (name: string) => ({ id: newId(), name, labels: {}, createdAt: rfc3339Nano(), sealed: Buffer.from('x') });
        // As the audited routes do: the change is answered at its commit, then its line is appended.
        const request = (name: string, meanwhile?: () => Promise<void>) =>
          (async () => {
            await store.createSecret(record(name), { auditLineFollows: true });
            const other = meanwhile?.(); // the next request's change, committed with this line
            await store.journal.append(++seq, `{"seq":${seq}}`);
            await other;
          })();
        const before = wal.flushes;
        await Promise.all([1, 2, 3, 4].map((i) => request(`first-${i}`, () => request(`second-${i}`))));
        // The second changes commit with the first lines; their own lines come one turn later.
        // A flush started at that commit would leave them to a second flush.
        assert.equal(wal.flushes - before, 1, 'one flush for both waves and their lines');
        assert.equal(store.journal.linesAfter(0).length, 8);
      } finally {
        await store.close();
      }
    }));

  test('the store connection runs with synchronous=NORMAL: the WAL is flushed by WalSync, off the event loop', () =>
    withFile(async (file) => {
      const store = new SqliteStore(file);
      try {
        // `synchronous` belongs to a connection, not to the file: a second connection shows its own
        // default, so the store's own connection is asked (1 = NORMAL). That a write resolves only
        // after the WAL's fdatasync is shown on the real daemon's system calls
        // (test/e2e/write-syscalls.test.ts).
        const db = (store as unknown as { db: Database.Database }).db;
        assert.equal(db.pragma('synchronous', { simple: true }), 1);
      } finally {
        await store.close();
      }
    }));

  test('secrets, versions and the swarm record survive closing and reopening the file', () =>
    withFile(async (file) => {
      const first = new SqliteStore(file);
      const created = await first.createSecret({
        id: newId(),
        name: 'kept',
        labels: { a: 'b' },
        sealed: Buffer.from([1, 2, 3]),
        createdAt: rfc3339Nano(),
      });
      const updated = await first.updateSecretLabels(created.id, created.version, { c: 'd' }, rfc3339Nano());
      const swarmVersion = await first.writeSwarm({ state: 'active' });
      await first.close();

      const second = new SqliteStore(file);
      try {
        assert.deepEqual(await second.getSecret(created.id), updated);
        assert.deepEqual(await second.readSwarm(), { state: 'active' });
        const next = await second.createSecret({ id: newId(), name: 'next', labels: {}, createdAt: rfc3339Nano() });
        assert.ok(next.version > swarmVersion, 'the version counter continues after a reopen');
        await assert.rejects(second.createSecret({ id: newId(), name: 'KEPT', labels: {}, createdAt: rfc3339Nano() }), { code: 'name_conflict' });
      } finally {
        await second.close();
      }
    }));

  test('writes issued before close() are in the file when it is reopened', () =>
    withFile(async (file) => {
      const first = new SqliteStore(file);
      const ids = [newId(), newId()];
      const pending = ids.map((id, i) => first.createSecret({ id, name: `late-${i}`, labels: {}, createdAt: rfc3339Nano() }));
      await first.close();
      await Promise.all(pending);
      const second = new SqliteStore(file);
      try {
        for (const id of ids) assert.ok(await second.getSecret(id), id);
      } finally {
        await second.close();
      }
    }));

  test('a write is visible to another connection as soon as it resolves', () =>
    withFile(async (file) => {
      const store = new SqliteStore(file);
      try {
        const created = await store.createSecret({ id: newId(), name: 'seen', labels: {}, createdAt: rfc3339Nano() });
        const row = peek(file, (db) => db.prepare('SELECT name, version FROM secrets WHERE id = ?').get(created.id));
        assert.deepEqual(row, { name: 'seen', version: created.version });
      } finally {
        await store.close();
      }
    }));

  test('a file whose schema_version is newer than the code is refused with a clear message', () =>
    withFile(async (file) => {
      await new SqliteStore(file).close();
      peek(file, (db) => db.prepare("UPDATE meta SET value = 99 WHERE key = 'schema_version'").run(), false);
      assert.throws(() => new SqliteStore(file), /written by a newer secretd \(store schema 99; this one knows 6\)/);
      // The refusal must leave the file as it was.
      assert.equal(
        peek(file, (db) => db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").pluck().get()),
        99,
      );
    }));

  test('reopening a file of the current schema does not migrate it again', () =>
    withFile(async (file) => {
      const first = new SqliteStore(file);
      await first.createSecret({ id: newId(), name: 'one', labels: {}, createdAt: rfc3339Nano() });
      await first.close();
      const second = new SqliteStore(file);
      try {
        assert.equal((await second.findSecrets({})).length, 1);
        assert.equal(
          peek(file, (db) => db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").pluck().get()),
          6,
        );
      } finally {
        await second.close();
      }
    }));

  test('a schema 1 file (secretd 0.1) gains the tokens table and keeps its secrets', () =>
    withFile(async (file) => {
      const first = new SqliteStore(file);
      const kept = await first.createSecret({ id: newId(), name: 'old', labels: { a: 'b' }, createdAt: rfc3339Nano() });
      await first.close();
      // Put the file back as schema 1 left it: no tokens table, no label index, schema_version 1.
      peek(file, (db) => db.exec(`${SCHEMA_3_UNDONE} DROP TABLE tokens; UPDATE meta SET value = 1 WHERE key = 'schema_version'`), false);
      const second = new SqliteStore(file);
      try {
        assert.deepEqual(await second.getSecret(kept.id), kept);
        assert.deepEqual(await second.listTokens(), []);
        assert.deepEqual(
          (await second.findSecrets({ labels: new Map([['a', 'b']]) })).map((s) => s.id),
          [kept.id],
        );
        assert.equal(
          peek(file, (db) => db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").pluck().get()),
          6,
        );
      } finally {
        await second.close();
      }
    }));

  test('a schema 2 file gains value versions and the recovery window, and keeps its secrets and tokens', () =>
    withFile(async (file) => {
      const first = new SqliteStore(file);
      const kept = await first.createSecret({ id: newId(), name: 'old', labels: { a: 'b' }, sealed: Buffer.from('v1'), createdAt: rfc3339Nano() });
      const token = { id: newId().slice(0, 12), hash: 'ab'.repeat(32), allow: ['*'], description: 'd', createdAt: rfc3339Nano() };
      await first.createToken(token);
      await first.close();
      peek(file, (db) => db.exec(`${SCHEMA_3_UNDONE} UPDATE meta SET value = 2 WHERE key = 'schema_version'`), false);
      const second = new SqliteStore(file);
      try {
        assert.deepEqual(await second.getSecret(kept.id), kept);
        assert.deepEqual(await second.listTokens(), [token]);
        assert.deepEqual(await second.listValueVersions(kept.id), [{ version: 1, createdAt: kept.createdAt, current: true }]);
        const { secret } = await second.rotateValue(kept.id, { version: 2, createdAt: rfc3339Nano(), sealed: Buffer.from('v2') }, 5, rfc3339Nano());
        assert.equal(secret.valueVersion, 2);
        assert.equal(await second.removeToRecovery(kept.id, rfc3339Nano(), rfc3339Nano()), true);
        assert.equal(
          peek(file, (db) => db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").pluck().get()),
          6,
        );
      } finally {
        await second.close();
      }
    }));

  test('value versions and removed secrets survive closing and reopening the file', () =>
    withFile(async (file) => {
      const first = new SqliteStore(file);
      const a = await first.createSecret({ id: newId(), name: 'a', labels: {}, sealed: Buffer.from('a1'), createdAt: rfc3339Nano() });
      const { secret: rotated } = await first.rotateValue(a.id, { version: 2, createdAt: rfc3339Nano(), sealed: Buffer.from('a2') }, 5, rfc3339Nano());
      const b = await first.createSecret({ id: newId(), name: 'b', labels: {}, sealed: Buffer.from('b1'), createdAt: rfc3339Nano() });
      await first.removeToRecovery(b.id, '2026-01-01T00:00:00.000Z', '2026-01-02T00:00:00.000Z');
      const versions = await first.listValueVersions(a.id);
      const removed = await first.findRemoved('B');
      const kept = await first.keptValuesPage(undefined, 10);
      await first.close();
      const second = new SqliteStore(file);
      try {
        assert.deepEqual(await second.getSecret(a.id), rotated);
        assert.deepEqual(await second.listValueVersions(a.id), versions);
        assert.deepEqual(await second.findRemoved('b'), removed);
        assert.deepEqual(await second.keptValuesPage(undefined, 10), kept);
        assert.equal((await second.restoreRemoved(b.id, rfc3339Nano())).name, 'b');
      } finally {
        await second.close();
      }
    }));

  test('a file from before the label index (schema 3) gets one built from the labels it holds', () =>
    withFile(async (file) => {
      const first = new SqliteStore(file);
      const labels = JSON.parse('{"__proto__":"p","":"e","team":"a","k":""}') as Record<string, string>;
      const a = await first.createSecret({ id: newId(), name: 'a', labels, createdAt: rfc3339Nano() });
      const b = await first.createSecret({ id: newId(), name: 'b', labels: { team: 'b' }, createdAt: rfc3339Nano() });
      await first.createSecret({ id: newId(), name: 'none', labels: {}, createdAt: rfc3339Nano() });
      await first.close();
      peek(
        file,
        (db) =>
          db.exec("DROP TABLE audit_journal; DROP TABLE secret_labels; DROP INDEX secrets_listing; UPDATE meta SET value = 3 WHERE key = 'schema_version'"),
        false,
      );
      const second = new SqliteStore(file);
      try {
        const ids = async (...pairs: [string, string][]) => (await second.findSecrets({ labels: new Map(pairs) })).map((s) => s.id);
        assert.deepEqual(await ids(['team', 'a']), [a.id]);
        assert.deepEqual(await ids(['team', 'b']), [b.id]);
        assert.deepEqual((await ids(['team', ''])).sort(), [a.id, b.id].sort());
        assert.deepEqual(await ids(['__proto__', 'p'], ['', 'e'], ['k', '']), [a.id]);
        assert.deepEqual(await second.getSecret(a.id), a);
        assert.equal(
          peek(file, (db) => db.prepare('SELECT count(*) FROM secret_labels').pluck().get()),
          5,
        );
        assert.equal(
          peek(file, (db) => db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").pluck().get()),
          6,
        );
      } finally {
        await second.close();
      }
    }));

  test('a schema 5 file (label rows by ID, an index of IDs alone) is rebuilt: same secrets and labels, label rows by seq', () =>
    withFile(async (file) => {
      const first = new SqliteStore(file);
      const a = await first.createSecret({ id: newId(), name: 'a', labels: { team: 'x', env: 'prod' }, sealed: Buffer.from('a1'), createdAt: rfc3339Nano() });
      const b = await first.createSecret({ id: newId(), name: 'b', labels: { team: 'y' }, createdAt: rfc3339Nano() });
      const driven = await first.createSecret({ id: newId(), name: 'c', labels: { team: 'x' }, driver: { Name: 'd' }, createdAt: rfc3339Nano() });
      await first.close();
      // Migration 6 undone: the secrets table keyed by ID, label rows naming secrets by ID.
      peek(
        file,
        (db) =>
          db.exec(`
            CREATE TABLE secrets_v5 (
              id TEXT PRIMARY KEY, name TEXT NOT NULL, name_key TEXT NOT NULL UNIQUE, labels TEXT NOT NULL, driver TEXT,
              templating TEXT, sealed BLOB, version INTEGER NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
              value_version INTEGER, latest_value_version INTEGER, value_created_at TEXT) STRICT;
            INSERT INTO secrets_v5 SELECT id, name, name_key, labels, driver, templating, sealed, version, created_at, updated_at,
              value_version, latest_value_version, value_created_at FROM secrets ORDER BY id DESC;
            DROP TABLE secret_labels; DROP TABLE secrets; ALTER TABLE secrets_v5 RENAME TO secrets;
            CREATE TABLE secret_labels (secret_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (secret_id, key)) STRICT, WITHOUT ROWID;
            CREATE INDEX secret_labels_by_label ON secret_labels (key, value);
            CREATE INDEX secrets_listing ON secrets (id, name, labels, driver, templating, version, created_at, updated_at);
            INSERT INTO secret_labels SELECT s.id, j.key, j.value FROM secrets s, json_each(s.labels) j;
            UPDATE meta SET value = 5 WHERE key = 'schema_version';`),
        false,
      );
      const second = new SqliteStore(file);
      try {
        const ids = async (...pairs: [string, string][]) => (await second.findSecrets({ labels: new Map(pairs) })).map((s) => s.id);
        const byId = (...xs: SecretRecord[]) => xs.map((x) => x.id).sort();
        assert.deepEqual(await second.getSecret(a.id), a);
        assert.deepEqual(await second.getSecret(driven.id), driven);
        assert.deepEqual(await ids(['team', 'x']), byId(a, driven));
        assert.deepEqual(await ids(['team', 'x'], ['env', 'prod']), [a.id]);
        assert.deepEqual(await ids(['team', 'y']), [b.id]);
        const listed: (string | SecretRecord)[] = [];
        for await (const page of second.renderedList(new Map([['team', '']]))!) listed.push(...page);
        assert.equal(
          `[${listed.map((p) => (typeof p === 'string' ? p : JSON.stringify(toView(p)))).join(',')}]`,
          JSON.stringify([a, b, driven].sort((x, y) => (x.id < y.id ? -1 : 1)).map(toView)),
        );
        // Writes after the rebuild keep the label rows in step with the secrets.
        const relabelled = await second.updateSecretLabels(b.id, b.version, { team: 'x' }, rfc3339Nano());
        assert.equal(await second.deleteSecret(a.id), true);
        const d = await second.createSecret({ id: newId(), name: 'd', labels: { team: 'x' }, createdAt: rfc3339Nano() });
        assert.deepEqual(await ids(['team', 'x']), byId(relabelled, driven, d));
        assert.deepEqual(await ids(['env', '']), []);
        const shape = peek(file, (db) => ({
          labelColumns: db.prepare("SELECT name FROM pragma_table_info('secret_labels') ORDER BY cid").pluck().all(),
          secretIndexes: db.prepare("SELECT name FROM pragma_index_list('secrets') ORDER BY name").pluck().all(),
          labelRows: db.prepare('SELECT count(*) FROM secret_labels').pluck().get(),
          orphans: db.prepare('SELECT count(*) FROM secret_labels WHERE secret_seq NOT IN (SELECT seq FROM secrets)').pluck().get(),
          version: db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").pluck().get(),
        }));
        assert.deepEqual(shape, {
          labelColumns: ['secret_seq', 'key', 'value'],
          secretIndexes: ['secrets_listing', 'sqlite_autoindex_secrets_1'], // the listing index and name_key's: none of IDs alone
          labelRows: 3,
          orphans: 0,
          version: 6,
        });
      } finally {
        await second.close();
      }
    }));

  test('a lookup by exact name after a create answers from the recent rows what the table holds, and no row older than it', () =>
    withFile(async (file) => {
      const store = new SqliteStore(file);
      let a: SecretRecord;
      try {
        a = await store.createSecret({ id: newId(), name: 'Alpha', labels: { k: 'v' }, createdAt: rfc3339Nano() });
        const b = await store.createSecret({ id: newId(), name: 'beta', labels: {}, createdAt: rfc3339Nano() });
        assert.deepEqual(await store.findSecrets({ names: ['alpha'] }), [a]);
        assert.deepEqual(
          await store.findSecrets({ names: ['BETA', 'Alpha'] }),
          [a, b].sort((x, y) => (x.id < y.id ? -1 : 1)),
        );
        await assert.rejects(store.createSecret({ id: newId(), name: 'ALPHA', labels: {}, createdAt: rfc3339Nano() }), /already exists/);
        assert.deepEqual(await store.findSecrets({ names: ['alpha'] }), [a]);
        a = await store.updateSecretLabels(a.id, a.version, { k: 'w' }, rfc3339Nano());
        const [found] = await store.findSecrets({ names: ['Alpha'] });
        assert.deepEqual(found?.labels, { k: 'w' });
        assert.equal(found?.version, a.version);
        assert.equal(await store.deleteSecret(b.id), true);
        assert.deepEqual(await store.findSecrets({ names: ['beta'] }), []);
        await store.createSecret({ id: b.id, name: 'beta', labels: { again: '' }, createdAt: rfc3339Nano() });
        assert.deepEqual(
          (await store.findSecrets({ names: ['beta'] })).map((s) => s.labels),
          [{ again: '' }],
        );
      } finally {
        await store.close();
      }
      // What the table holds, read by SQL alone (a new store holds no recent rows).
      const reopened = new SqliteStore(file);
      try {
        assert.deepEqual(await reopened.findSecrets({ names: ['alpha'] }), [a]);
      } finally {
        await reopened.close();
      }
    }));

  test("the recent view (recentSecrets) is the table's rows after every kind of write, or lacks them", () =>
    withFile(async (file) => {
      const store = new SqliteStore(file);
      try {
        const at = rfc3339Nano();
        const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((name) => store.createSecret({ id: newId(), name, labels: {}, createdAt: at })));
        const recent = store.recentSecrets;
        const withoutValue = async (id: string) => {
          const r = await store.getSecret(id);
          if (r) delete r.sealed;
          return r;
        };
        const updated = await store.updateSecretLabels(a!.id, a!.version, { k: 'v' }, rfc3339Nano());
        assert.deepEqual(await recent.getSecret(a!.id), await withoutValue(a!.id));
        assert.equal((await recent.getSecret(a!.id))?.version, updated.version);
        await assert.rejects(store.updateSecretLabels(a!.id, a!.version, { k: 'stale' }, rfc3339Nano()), OutOfSequence);
        assert.deepEqual((await recent.findSecrets({ names: ['A'] }))[0]?.labels, { k: 'v' });
        assert.equal(await store.deleteSecret(b!.id), true);
        assert.equal(await recent.getSecret(b!.id), undefined);
        assert.deepEqual(await recent.findSecrets({ names: ['b'] }), []);
        assert.equal(await store.removeToRecovery(c!.id, rfc3339Nano(), rfc3339Nano()), true);
        assert.equal(await recent.getSecret(c!.id), undefined);
        await store.restoreRemoved(c!.id, rfc3339Nano()); // any other write: the view lacks everything
        assert.equal(await recent.getSecret(a!.id), undefined);
        assert.deepEqual(await recent.findSecrets({ names: ['c'] }), []);
        assert.equal((await store.findSecrets({ names: ['c'] })).length, 1);
      } finally {
        await store.close();
      }
    }));

  test('the recent rows hold at most their bound, the one created longest ago going first; an update replaces only a row held', () => {
    const recent = new RecentRows<{ id: string; v: number }>(2);
    recent.created('a', { id: 'A', v: 1 });
    recent.created('b', { id: 'B', v: 1 });
    recent.updated('a', { id: 'A', v: 2 });
    recent.created('c', { id: 'C', v: 1 }); // 'a' was created first: it goes, updated or not
    assert.equal(recent.size, 2);
    assert.equal(recent.byNameKey('a'), undefined);
    assert.equal(recent.byId('A'), undefined);
    recent.updated('a', { id: 'A', v: 3 }); // not held: stays out, and evicts nothing
    assert.equal(recent.byId('A'), undefined);
    assert.deepEqual(
      [recent.byId('B'), recent.byId('C')],
      [
        { id: 'B', v: 1 },
        { id: 'C', v: 1 },
      ],
    );
    recent.updated('b', { id: 'B', v: 2 });
    assert.deepEqual(recent.byId('B'), { id: 'B', v: 2 });
    recent.dropped('B');
    assert.equal(recent.byNameKey('b'), undefined);
    assert.equal(recent.byNameKey('c')?.id, 'C');
    recent.forgetAll();
    assert.equal(recent.size, 0);
    assert.equal(recent.byId('C'), undefined);
  });

  test('a secret whose ID is taken is refused and changes nothing, though no index holds IDs alone', () =>
    withFile(async (file) => {
      const store = new SqliteStore(file);
      try {
        const a = await store.createSecret({ id: newId(), name: 'a', labels: { k: 'v' }, createdAt: rfc3339Nano() });
        await assert.rejects(store.createSecret({ id: a.id, name: 'other', labels: { k: 'w' }, createdAt: rfc3339Nano() }), /ID .* exists already/);
        assert.deepEqual(
          (await store.findSecrets({})).map((s) => s.name),
          ['a'],
        );
        assert.deepEqual(await store.findSecrets({ labels: new Map([['k', 'w']]) }), []);
        assert.deepEqual(await store.getSecret(a.id), a);
      } finally {
        await store.close();
      }
    }));

  test('renderedList writes each secret as JSON.stringify(toView(record)) does, in ID order', () =>
    withFile(async (file) => {
      const store = new SqliteStore(file);
      try {
        const odd = JSON.parse(
          '{"10":"ten","2":"two","__proto__":"p","":"","q\\"uote":"back\\\\slash",' +
            '"nl":"a\\nb\\u0001\\u001f","sep":"\\u2028\\u2029","ключ":"🔑","lone":"\\ud800"}',
        ) as Record<string, string>;
        const plain = [
          await store.createSecret({ id: newId(), name: 'plain', labels: {}, createdAt: rfc3339Nano() }),
          await store.createSecret({ id: newId(), name: 'Odd.Labels_1-x', labels: odd, sealed: Buffer.from('s'), createdAt: rfc3339Nano() }),
          // The store takes any text (the API never sends these): json_quote escapes as JSON.stringify.
          await store.createSecret({
            id: `I"D\\${newId().slice(4)}`,
            name: 'we"ird\\\u2028\u0000\b\f\n\r\t\u001f\u007f é🔑\ud800',
            labels: {},
            createdAt: '2026-01-01T00:00:00.1Z\n',
          }),
        ];
        const relabelled = await store.updateSecretLabels(plain[0]!.id, plain[0]!.version, { a: 'b' }, rfc3339Nano());
        // Left to toView: drivers and templating (their views drop empty fields).
        // IDs first, last and next to each other in ID order: the rendered text is cut around them.
        const others = [
          await store.createSecret({ id: `000${newId().slice(3)}`, name: 'driven', labels: { a: 'b' }, driver: { Name: '' }, createdAt: rfc3339Nano() }),
          await store.createSecret({
            id: `zzz${newId().slice(3)}`,
            name: 'tpl',
            labels: {},
            templating: { Name: 'golang', Options: {} },
            createdAt: rfc3339Nano(),
          }),
          await store.createSecret({ id: `zzy${newId().slice(3)}`, name: 'tpl2', labels: {}, templating: { Name: 'golang' }, createdAt: rfc3339Nano() }),
          await store.createSecret({
            id: `m${newId().slice(1)}`,
            name: 'mid',
            labels: {},
            driver: { Name: 'd', Options: { o: '1' } },
            createdAt: rfc3339Nano(),
          }),
        ];
        const parts = await allParts(store);
        const text = `[${parts.map((p) => (typeof p === 'string' ? p : JSON.stringify(toView(p)))).join(',')}]`;
        assert.equal(text, JSON.stringify((await store.findSecrets({})).map(toView)));
        const rendered = new Set(
          parts.filter((p): p is string => typeof p === 'string').flatMap((p) => (JSON.parse(`[${p}]`) as { ID: string }[]).map((v) => v.ID)),
        );
        assert.deepEqual([...rendered].sort(), [relabelled.id, plain[1]!.id, plain[2]!.id].sort(), 'the rows without drivers are rendered in SQL');
        const records = parts.filter((p) => typeof p !== 'string');
        assert.deepEqual(records.map((r) => r.id).sort(), others.map((r) => r.id).sort());
        for (const r of records) assert.equal(r.sealed, undefined);
      } finally {
        await store.close();
      }
    }));

  test('renderedList of an empty store is empty, and of a store of drivers only the records', () =>
    withFile(async (file) => {
      const store = new SqliteStore(file);
      try {
        assert.deepEqual(await allParts(store), []);
        const a = await store.createSecret({ id: newId(), name: 'a', labels: {}, driver: { Name: 'x' }, createdAt: rfc3339Nano() });
        const b = await store.createSecret({ id: newId(), name: 'b', labels: {}, driver: { Name: 'x' }, createdAt: rfc3339Nano() });
        assert.deepEqual(
          await allParts(store),
          [a, b].sort((x, y) => (x.id < y.id ? -1 : 1)),
        );
      } finally {
        await store.close();
      }
    }));

  for (const [n, read] of [
    [PAGE_ROWS * 2 + 7, "on the store's own connection"],
    [ON_MAIN_ROWS + PAGE_ROWS + 7, 'on a connection of its own'],
  ] as const)
    test(`a list of all longer than a page (${n} secrets, read ${read}) comes in pages, all from the snapshot of its start, while writes go on`, () =>
      withFile(async (file) => {
        const store = new SqliteStore(file);
        try {
          const made = await Promise.all(
            Array.from({ length: n }, (_, i) => store.createSecret({ id: newId(), name: `p${i}`, labels: { i: String(i) }, createdAt: rfc3339Nano() })),
          );
          const expected = JSON.stringify((await store.findSecrets({})).map(toView));
          const pages: string[][] = [];
          let changed = false;
          for await (const page of store.renderedList()!) {
            pages.push(page.map((p) => (typeof p === 'string' ? p : JSON.stringify(toView(p)))));
            if (!changed) {
              // Between pages: a create, a delete and a relabel, each committed.
              changed = true;
              await store.createSecret({ id: newId(), name: 'late', labels: {}, createdAt: rfc3339Nano() });
              // On the last page, which is read after them: the highest IDs.
              const [last, nextToLast] = [...made].sort((a, b) => (a.id < b.id ? 1 : -1));
              await store.deleteSecret(last!.id);
              await store.updateSecretLabels(nextToLast!.id, nextToLast!.version, { moved: 'yes' }, rfc3339Nano());
            }
          }
          assert.ok(pages.length >= 3, `${pages.length} pages`);
          assert.equal(`[${pages.map((p) => p.join(',')).join(',')}]`, expected, 'the list is the one of its start');
          assert.equal((await store.findSecrets({})).length, n, 'the writes between pages did commit');
        } finally {
          await store.close();
        }
      }));

  test('a long list abandoned after its first page ends its read; the store goes on and closes', () =>
    withFile(async (file) => {
      const store = new SqliteStore(file);
      try {
        await Promise.all(
          Array.from({ length: ON_MAIN_ROWS + PAGE_ROWS }, (_, i) => store.createSecret({ id: newId(), name: `q${i}`, labels: {}, createdAt: rfc3339Nano() })),
        );
        for await (const page of store.renderedList()!) {
          assert.ok(page.length > 0);
          break; // return(): the reading connection closes
        }
        await store.createSecret({ id: newId(), name: 'after', labels: {}, createdAt: rfc3339Nano() });
        assert.equal((await allParts(store)).length > 0, true);
      } finally {
        await store.close();
      }
    }));

  test('renderedList by labels writes what findSecrets finds with them, rendered as toView, for every shape of condition', () =>
    withFile(async (file) => {
      const store = new SqliteStore(file);
      try {
        const made: SecretRecord[] = [];
        for (let i = 0; i < 60; i++) {
          const labels: Record<string, string> = { team: `t${i % 3}` };
          if (i % 2) labels.env = 'prod';
          if (i % 5 === 0) labels.tier = '';
          const driver = { Name: 'd', Options: { o: String(i) } };
          const extra = i % 7 === 0 ? { driver } : i % 11 === 0 ? { templating: { Name: 'golang' } } : {};
          made.push(await store.createSecret({ id: newId(), name: `l${i}`, labels, ...extra, createdAt: rfc3339Nano() }));
        }
        const shapes: [string, string][][] = [
          [['team', 't1']],
          [['env', '']],
          [
            ['team', 't2'],
            ['env', 'prod'],
          ],
          [
            ['env', ''],
            ['tier', ''],
          ],
          [
            ['tier', ''],
            ['team', 't0'],
            ['env', 'prod'],
          ],
          [['team', 'nobody']],
          [['absent', '']],
          [
            ['team', 't1'],
            ['team2', ''],
          ],
        ];
        for (const shape of shapes) {
          const labels = new Map(shape);
          const parts: (string | SecretRecord)[] = [];
          for await (const page of store.renderedList(labels)!) parts.push(...page);
          const text = `[${parts.map((p) => (typeof p === 'string' ? p : JSON.stringify(toView(p)))).join(',')}]`;
          const found = await store.findSecrets({ labels });
          assert.equal(text, JSON.stringify(found.map(toView)), JSON.stringify(shape));
          if (shape[0]![1] === 't1' && shape.length === 1)
            assert.ok(found.length > 10 && found.some((r) => r.driver), 'a shape with drivers among its matches');
        }
        const many = new Map(Array.from({ length: 33 }, (_, i) => [`k${i}`, ''] as [string, string]));
        assert.equal(store.renderedList(many), undefined, 'more label conditions than SQL takes are left to findSecrets');
      } finally {
        await store.close();
      }
    }));

  test('a label list of very many matches, read along the listing index, is the one findSecrets finds', () =>
    withFile(async (file) => {
      const store = new SqliteStore(file);
      try {
        for (let i = 0; i <= SORT_BELOW; i += 2000) {
          await Promise.all(
            Array.from({ length: Math.min(2000, SORT_BELOW + 1 - i) }, (_, j) => {
              const n = i + j;
              const labels: Record<string, string> = n % 10 === 0 ? { rare: 'yes', many: 'yes' } : { many: 'yes', odd: String(n % 2) };
              return store.createSecret({ id: newId(), name: `w${n}`, labels, ...(n % 997 === 0 ? { driver: { Name: 'd' } } : {}), createdAt: rfc3339Nano() });
            }),
          );
        }
        await store.createSecret({ id: newId(), name: 'outside', labels: { few: 'yes' }, createdAt: rfc3339Nano() });
        for (const shape of [
          [['many', 'yes']],
          [['many', '']],
          [
            ['many', 'yes'],
            ['odd', '1'],
          ],
        ] as [string, string][][]) {
          const labels = new Map(shape);
          const pages: string[] = [];
          for await (const page of store.renderedList(labels)!) pages.push(page.map((p) => (typeof p === 'string' ? p : JSON.stringify(toView(p)))).join(','));
          const found = await store.findSecrets({ labels });
          assert.ok(found.length >= SORT_BELOW / 2, JSON.stringify(shape));
          assert.equal(pages.length, Math.ceil(found.length / PAGE_ROWS), JSON.stringify(shape));
          assert.equal(`[${pages.join(',')}]`, JSON.stringify(found.map(toView)), JSON.stringify(shape));
        }
      } finally {
        await store.close();
      }
    }));

  test('a label list longer than a page comes in pages from the snapshot of its start, and an abandoned one ends its read', () =>
    withFile(async (file) => {
      const store = new SqliteStore(file);
      try {
        // Fewer matches than the probe's cap come in one page, from the store's own connection.
        const n = Math.max(PAGE_ROWS * 2, DRIVER_PROBE) + 3;
        const made = await Promise.all(
          Array.from({ length: n }, (_, i) =>
            store.createSecret({ id: newId(), name: `m${i}`, labels: { all: 'yes', half: String(i % 2) }, createdAt: rfc3339Nano() }),
          ),
        );
        const labels = new Map([['all', 'yes']]);
        const expected = JSON.stringify((await store.findSecrets({ labels })).map(toView));
        const pages: string[] = [];
        for await (const page of store.renderedList(labels)!) {
          pages.push(page.map((p) => (typeof p === 'string' ? p : JSON.stringify(toView(p)))).join(','));
          if (pages.length === 1) {
            const [last] = [...made].sort((a, b) => (a.id < b.id ? 1 : -1));
            await store.deleteSecret(last!.id);
            await store.createSecret({ id: `zzzz${newId().slice(4)}`, name: 'late', labels: { all: 'yes' }, createdAt: rfc3339Nano() });
          }
        }
        assert.equal(pages.length, Math.ceil(n / PAGE_ROWS));
        assert.equal(`[${pages.join(',')}]`, expected, 'the list is the one of its start');
        assert.equal((await store.findSecrets({ labels })).length, n, 'the writes between pages did commit');
        for await (const page of store.renderedList(
          new Map([
            ['all', 'yes'],
            ['half', '1'],
          ]),
        )!) {
          assert.ok(page.length > 0);
          break; // return(): the reading connection closes
        }
        await store.createSecret({ id: newId(), name: 'after', labels: { all: 'yes' }, createdAt: rfc3339Nano() });
      } finally {
        await store.close();
      }
    }));
});

/** Every part of the list of all, pages joined. */
async function allParts(store: SqliteStore): Promise<(string | SecretRecord)[]> {
  const out: (string | SecretRecord)[] = [];
  for await (const page of store.renderedList()!) out.push(...page);
  return out;
}
