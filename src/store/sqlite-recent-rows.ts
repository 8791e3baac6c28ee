/**
 * The rows of the secrets this daemon created last, without their values, so that finding one
 * by its exact name costs a Map lookup rather than a statement: under 16 clients the statement
 * was a quarter of an inspect's time (docs/benchmark.md). Never behind the database: a row
 * enters only once the create that wrote it has committed, and any other committed write but an
 * audit line (an update, a delete, a restore, a swarm leave, a token) empties it, so what it
 * holds is exactly what SQLite would return. Bounded: past MAX_ROWS, the oldest row goes.
 */

/**
 * About 2.2 MB of heap when full, for a burst of creates read back: 8192 rows (4.4 MB) put 12 MB
 * on the daemon's RSS at 100,000 secrets, the heap growing with what survives (docs/benchmark.md).
 */
export const MAX_ROWS = 4096;

/** `Row`: a secrets row as a lookup by name returns it (sqlite.ts METADATA: no sealed value). */
export class RecentRows<Row> {
  /** By name_key (the lower-cased name), in the order the rows came. */
  private readonly rows = new Map<string, Row>();
  private readonly max: number;

  constructor(max = MAX_ROWS) {
    this.max = max;
  }

  /** A create committed: its row, as the table now holds it. */
  created(nameKey: string, row: Row): void {
    if (this.rows.size >= this.max) this.rows.delete(this.rows.keys().next().value!);
    this.rows.set(nameKey, row);
  }

  /** Some other change to secrets committed: nothing held may still be true. */
  forgetAll(): void {
    this.rows.clear();
  }

  /** The row named `nameKey`, if it is one of those held; undefined says nothing about the database. */
  byNameKey(nameKey: string): Row | undefined {
    return this.rows.get(nameKey);
  }

  get size(): number {
    return this.rows.size;
  }
}
