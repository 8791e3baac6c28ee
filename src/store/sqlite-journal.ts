/**
 * The SQLite store's audit journal (AuditJournal in src/store/types.ts): a table of audit lines
 * written through the store's group commit, so a line shares the WAL flush of the changes
 * committed before it. The audit file copies the lines once they are durable; `trim` drops those
 * the file has flushed, so the table holds only the last few hundred milliseconds of lines.
 */
import type Database from 'better-sqlite3';
import type { AuditJournal } from './types.ts';

/** A write through the store's group commit that always waits for the WAL's flush. */
type FlushedWrite = <T>(fn: () => T) => Promise<T>;

export class SqliteAuditJournal implements AuditJournal {
  private readonly write: FlushedWrite;
  readonly flushed: () => Promise<void>;
  private readonly stmt;

  constructor(db: Database.Database, write: FlushedWrite, flushed: () => Promise<void>) {
    this.write = write;
    this.flushed = flushed;
    this.stmt = {
      insert: db.prepare<[number, string]>('INSERT OR REPLACE INTO audit_journal (seq, line) VALUES (?, ?)'),
      after: db.prepare<[number], { seq: number; line: string }>('SELECT seq, line FROM audit_journal WHERE seq > ? ORDER BY seq'),
      trim: db.prepare<[number]>('DELETE FROM audit_journal WHERE seq <= ?'),
    };
  }

  append(seq: number, line: string): Promise<void> {
    return this.write(() => {
      this.stmt.insert.run(seq, line);
    });
  }

  linesAfter(seq: number): { seq: number; line: string }[] {
    return this.stmt.after.all(seq);
  }

  trim(seq: number): Promise<void> {
    return this.write(() => {
      this.stmt.trim.run(seq);
    });
  }
}
