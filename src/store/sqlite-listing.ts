/**
 * The SQLite store's rendered lists (Store.renderedList), rendered in SQL and read in pages of
 * PAGE_ROWS secrets, so a million secrets never become one string: the HTTP edge streams each
 * page as it comes. A list of up to ON_MAIN_ROWS (in whole pages) is read on the store's own
 * connection. A longer one is read on a read-only connection of its own inside one read
 * transaction, so every page comes from the same snapshot (the list is one moment's, as
 * dockerd's is) while writes go on.
 * That connection closes when the list ends or is abandoned (`return`).
 *
 * A row is rendered in SQL unless it has a driver or templating (their views drop empty fields):
 * such a row comes as the JSON array of its listed columns, made a record here for toView.
 * json_quote writes every string as JSON.stringify does (checked over every code point; lone
 * surrogates never reach SQLite's UTF-8), and the labels column is JSON.stringify's own text.
 * The listing index holds every column used, in ID order: the list of all walks its compact
 * pages front to back. A label list finds its matches by seq in the label index (label rows
 * name a secret by its row's place in writing order, so writes append to them: migration 6).
 */
import Database from 'better-sqlite3';
import type { DriverRef, SecretRecord } from './records.ts';

const RENDERABLE = 'driver IS NULL AND templating IS NULL';
const RENDERED = `'{"ID":' || json_quote(id) || ',"Version":{"Index":' || version || '},"CreatedAt":' || json_quote(created_at)
  || ',"UpdatedAt":' || json_quote(updated_at) || ',"Spec":{"Name":' || json_quote(name) || ',"Labels":' || labels || '}}'`;
const LISTED = 'json_array(id, name, json(labels), json(driver), json(templating), version, created_at, updated_at)';
// A row left to toView is its columns' JSON between two NULs, which JSON text never holds raw.
const ROW = `CASE WHEN ${RENDERABLE} THEN ${RENDERED} ELSE char(0) || ${LISTED} || char(0) END`;

/**
 * Secrets per page: some 90 KB of JSON, below V8's large-object size (128 KiB), so a page's text
 * dies young. Pages of 2000 (700 KB) were old-space garbage until a full collection: five lists
 * of all at 100,000 secrets raised the RSS by 13 to 26 MB, against none with 256, and took no
 * less time (docs/benchmark.md).
 */
export const PAGE_ROWS = 256;

/**
 * Secrets a list of all reads on the store's own connection, its pages one after another in one
 * synchronous run (no commit can come between them), before a longer one needs a connection and
 * snapshot of its own (some 70 µs to open).
 */
export const ON_MAIN_ROWS = 2000;

// One text per page of the list of all (no JavaScript string per row).
const PAGE_SQL = `SELECT group_concat(${ROW}, ',') AS text, max(id) AS last, count(*) AS n
  FROM (SELECT id, name, labels, driver, templating, version, created_at, updated_at FROM secrets INDEXED BY secrets_listing
        WHERE id > ? ORDER BY id LIMIT ?)`;

interface PageRow {
  text: string | null;
  last: string | null;
  n: number;
}

/** A list's parts (Store.renderedList): texts of rendered secrets, and records toView renders. */
type Parts = (string | SecretRecord)[];

export class SqliteListing {
  private readonly file: string;
  private readonly main: Database.Database;
  private readonly pageOn = new WeakMap<Database.Database, Database.Statement<[string, number], PageRow>>();
  /** The main connection's statements of short lists, by SQL text (a shape of label query: few). */
  private readonly shortLists = new Map<string, Database.Statement<unknown[], string>>();

  constructor(file: string, main: Database.Database) {
    this.file = file;
    this.main = main;
  }

  /** The parts of the list of all, one page of them at a time. */
  async *pages(): AsyncGenerator<Parts> {
    const near: Parts[] = [];
    for (let after = '', read = 0; read < ON_MAIN_ROWS; ) {
      const page = this.page(this.main, after);
      if (page.parts.length > 0) near.push(page.parts);
      if (page.n < PAGE_ROWS) {
        yield* near;
        return;
      }
      read += page.n;
      after = page.last;
    }
    // Longer: read again from its start, on a snapshot of its own, while writes go on.
    const reader = this.reader();
    try {
      for (let after = ''; ; ) {
        const page = this.page(reader, after);
        if (page.parts.length > 0) yield page.parts;
        if (page.n < PAGE_ROWS) return;
        after = page.last;
      }
    } finally {
      reader.close(); // ends its read transaction
    }
  }

  /**
   * The parts of the list of the secrets that `where` (over the secrets table, with `params`)
   * selects, in ID order, a page at a time. `short`: one page at most. Longer lists are read from
   * a snapshot of their own, the statement walked as it goes: `sort` fetches the matches by seq
   * and sorts them by ID, `walk` reads the listing index in ID order (for very many matches).
   */
  async *matching(where: string, params: unknown[], how: 'short' | 'sort' | 'walk'): AsyncGenerator<Parts> {
    const sql = `SELECT ${ROW} FROM secrets ${how === 'walk' ? 'INDEXED BY secrets_listing ' : ''}WHERE ${where} ORDER BY id`;
    if (how === 'short') {
      let stmt = this.shortLists.get(sql);
      if (!stmt) {
        if (this.shortLists.size >= 256) this.shortLists.clear(); // never unbounded
        this.shortLists.set(sql, (stmt = this.main.prepare<unknown[], string>(sql).pluck()));
      }
      const rows = stmt.all(...params);
      if (rows.length > 0) yield partsOf(rows);
      return;
    }
    const reader = this.reader();
    try {
      const walk = reader.prepare<unknown[], string>(sql).pluck();
      let rows: string[] = [];
      for (const row of walk.iterate(...params)) {
        if (rows.push(row) < PAGE_ROWS) continue;
        yield partsOf(rows);
        rows = [];
      }
      if (rows.length > 0) yield partsOf(rows);
    } finally {
      reader.close(); // ends its read transaction, and the walk if it was abandoned
    }
  }

  /** A read-only connection of the list's own, in a read transaction: one snapshot. */
  private reader(): Database.Database {
    const reader = new Database(this.file, { readonly: true, fileMustExist: true });
    reader.pragma('cache_size = -2048'); // 2 MB: a list reads each page once, in order
    reader.pragma('temp_store = MEMORY'); // its sort by ID (SORT_BELOW) never spills names and labels to /tmp
    reader.exec('BEGIN');
    return reader;
  }

  private page(db: Database.Database, after: string): { parts: Parts; last: string; n: number } {
    let stmt = this.pageOn.get(db);
    if (!stmt) {
      stmt = db.prepare<[string, number], PageRow>(PAGE_SQL);
      this.pageOn.set(db, stmt);
    }
    const row = stmt.get(after, PAGE_ROWS)!;
    const text = row.text;
    const last = row.last ?? after;
    if (text === null) return { parts: [], last, n: 0 };
    if (!text.includes('\0')) return { parts: [text], last, n: row.n };
    // Between the NULs: rows for toView; the commas that joined them to their neighbours go.
    const parts = text.split('\0').flatMap<string | SecretRecord>((part, i) => {
      if (i % 2 === 1) return [listedRecord(part)];
      const trimmed = part.replace(/^,|,$/g, '');
      return trimmed === '' ? [] : [trimmed];
    });
    return { parts, last, n: row.n };
  }
}

/** Rows as parts: each run of rendered rows joined into one text, the others as records. */
function partsOf(rows: string[]): Parts {
  const parts: Parts = [];
  let run: string[] = [];
  for (const row of rows) {
    if (row.charCodeAt(0) !== 0) {
      run.push(row);
      continue;
    }
    if (run.length > 0) parts.push(run.join(','));
    run = [];
    parts.push(listedRecord(row.slice(1, -1)));
  }
  if (run.length > 0) parts.push(run.join(','));
  return parts;
}

type Listed = [string, string, Record<string, string>, DriverRef | null, DriverRef | null, number, string, string];

/** A record of the listed columns (LISTED): what toView shows of a secret, no value versions. */
function listedRecord(json: string): SecretRecord {
  const [id, name, labels, driver, templating, version, createdAt, updatedAt] = JSON.parse(json) as Listed;
  const r: SecretRecord = { id, name, labels, version, createdAt, updatedAt };
  if (driver) r.driver = driver;
  if (templating) r.templating = templating;
  return r;
}
