/**
 * The rows of the secrets this daemon created last, without their values, so that finding one
 * by its exact name or full ID costs a Map lookup rather than a statement: under 16 clients the
 * statement was a quarter of an inspect's time (docs/benchmark.md). Never behind the database: a
 * row enters only once the create that wrote it has committed, a label update replaces it, a
 * delete drops it, and any other committed write but an audit line (a restore, a value
 * rotation, a swarm leave, a token) empties them all, so what they hold is exactly what SQLite
 * would return. Bounded: past MAX_ROWS, the row created longest ago goes.
 */

/**
 * About 2.2 MB of heap when full, for a burst of creates read back: 8192 rows (4.4 MB) put 12 MB
 * on the daemon's RSS at 100,000 secrets, the heap growing with what survives (docs/benchmark.md).
 */
export const MAX_ROWS = 4096;

/** `Row`: a secrets row as a lookup by name returns it (sqlite.ts METADATA: no sealed value). */
export class RecentRows<Row extends { id: string }> {
  /** By name_key (the lower-cased name), oldest create first. */
  private readonly rows = new Map<string, Row>();
  /** ID → name_key of every row held. */
  private readonly names = new Map<string, string>();
  private readonly max: number;

  constructor(max = MAX_ROWS) {
    this.max = max;
  }

  /** A create committed: the new secret's row, as the table now holds it. */
  created(nameKey: string, row: Row): void {
    if (this.rows.size >= this.max) {
      const [oldestKey, oldest] = this.rows.entries().next().value!;
      this.rows.delete(oldestKey);
      this.names.delete(oldest.id);
    }
    this.rows.set(nameKey, row);
    this.names.set(row.id, nameKey);
  }

  /**
   * An update committed: the secret's row, replacing the one held, in its place. A row not held
   * does not enter: updates in the order of creation over more secrets than MAX_ROWS would
   * otherwise each evict the row the next one needs.
   */
  updated(nameKey: string, row: Row): void {
    if (this.rows.get(nameKey)?.id === row.id) this.rows.set(nameKey, row);
  }

  /** Secret `id` was deleted, or moved among the removed ones. */
  dropped(id: string): void {
    const nameKey = this.names.get(id);
    if (nameKey === undefined) return;
    this.names.delete(id);
    this.rows.delete(nameKey);
  }

  /** Some other change to secrets committed: nothing held may still be true. */
  forgetAll(): void {
    this.rows.clear();
    this.names.clear();
  }

  /** The row named `nameKey`, if it is one of those held; undefined says nothing about the database. */
  byNameKey(nameKey: string): Row | undefined {
    return this.rows.get(nameKey);
  }

  /** The row of secret `id`, if it is one of those held. */
  byId(id: string): Row | undefined {
    const nameKey = this.names.get(id);
    return nameKey === undefined ? undefined : this.rows.get(nameKey);
  }

  get size(): number {
    return this.rows.size;
  }
}
