/**
 * The SQLite store's list of all (Store.renderedList), rendered in SQL and read in pages of
 * PAGE_ROWS secrets, so a million secrets never become one string: the HTTP edge streams each
 * page as it comes. A list that fits in one page is read on the store's own connection. A longer
 * one is read on a read-only connection of its own inside one read transaction, so every page
 * comes from the same snapshot (the list is one moment's, as dockerd's is) while writes go on.
 * That connection closes when the list ends or is abandoned (`return`).
 *
 * A row is rendered in SQL unless it has a driver or templating (their views drop empty fields).
 * json_quote writes every string as JSON.stringify does (checked over every code point; lone
 * surrogates never reach SQLite's UTF-8), and the labels column is JSON.stringify's own text.
 * The listing index holds every column used, in ID order, so the walk reads compact pages front
 * to back instead of one table lookup per row.
 */
import Database from 'better-sqlite3';

const RENDERABLE = 'driver IS NULL AND templating IS NULL';
const RENDERED = `'{"ID":' || json_quote(id) || ',"Version":{"Index":' || version || '},"CreatedAt":' || json_quote(created_at)
  || ',"UpdatedAt":' || json_quote(updated_at) || ',"Spec":{"Name":' || json_quote(name) || ',"Labels":' || labels || '}}'`;

/** Secrets per page: a few hundred kilobytes of JSON. */
export const PAGE_ROWS = 2000;

// One text per page (no JavaScript string per row); a row left to toView is its ID between two
// NULs, which JSON text never holds raw.
const PAGE_SQL = `SELECT group_concat(CASE WHEN ${RENDERABLE} THEN ${RENDERED} ELSE char(0) || id || char(0) END, ',') AS text,
  max(id) AS last, count(*) AS n
  FROM (SELECT id, name, labels, driver, templating, version, created_at, updated_at FROM secrets INDEXED BY secrets_listing
        WHERE id > ? ORDER BY id LIMIT ?)`;

interface PageRow {
  text: string | null;
  last: string | null;
  n: number;
}

/** A record of a row the page left to toView, read on the same connection (so the same snapshot). */
export type RecordOf<T> = (db: Database.Database, id: string) => T;

export class SqliteListing<T> {
  private readonly file: string;
  private readonly main: Database.Database;
  private readonly recordOf: RecordOf<T>;
  private readonly pageOn = new WeakMap<Database.Database, Database.Statement<[string, number], PageRow>>();

  constructor(file: string, main: Database.Database, recordOf: RecordOf<T>) {
    this.file = file;
    this.main = main;
    this.recordOf = recordOf;
  }

  /** The parts of the list (Store.renderedList), one page of them at a time. */
  async *pages(): AsyncGenerator<(string | T)[]> {
    const first = this.page(this.main, '');
    if (first.n < PAGE_ROWS) {
      if (first.parts.length > 0) yield first.parts;
      return;
    }
    const reader = new Database(this.file, { readonly: true, fileMustExist: true });
    try {
      reader.exec('BEGIN');
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

  private page(db: Database.Database, after: string): { parts: (string | T)[]; last: string; n: number } {
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
    // Between the NULs: IDs of rows for toView; the commas that joined them to their neighbours go.
    const parts = text.split('\0').flatMap<string | T>((part, i) => {
      if (i % 2 === 1) return [this.recordOf(db, part)];
      const trimmed = part.replace(/^,|,$/g, '');
      return trimmed === '' ? [] : [trimmed];
    });
    return { parts, last, n: row.n };
  }
}
