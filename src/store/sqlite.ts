/**
 * The embedded default store: one SQLite file in the data root, through better-sqlite3.
 * WAL with synchronous=NORMAL plus an fdatasync of the WAL off the event loop (wal-sync.ts), so
 * a committed write is on disk before we answer, as with synchronous=FULL. Statements are
 * prepared once. Name uniqueness is a UNIQUE index on the lower-cased name; the version
 * compare-and-set is one conditional UPDATE inside the write transaction. A secret's current
 * value is always secrets.sealed; older values and those of removed secrets are in kept_values.
 */
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { NameConflict, NotInSwarm, OutOfSequence, SecretNotFound, StoreUnavailable, VersionNotFound } from '../core/errors.ts';
import type { DriverRef, SecretRecord, SwarmRecord, TokenRecord } from './records.ts';
import { labelsMatch } from './secret-index.ts';
import { compactQuery } from './secret-query.ts';
import type { StoreCheckpoint } from './acknowledged.ts';
import type {
  KeptValue,
  KeptValueChange,
  KeptValueCursor,
  NewSecret,
  NewValueVersion,
  RemovedSecret,
  SealedChange,
  SealedEntry,
  SecretQuery,
  Store,
  ValueVersionInfo,
  WriteOptions,
} from './types.ts';
import { WalSync } from './wal-sync.ts';
import { SqliteAuditJournal } from './sqlite-journal.ts';
import { SqliteListing } from './sqlite-listing.ts';
import { RecentRows } from './sqlite-recent-rows.ts';

/** The store connection's page cache, in KiB (the constructor says why). */
const PAGE_CACHE_KIB = 4096;

/** WAL pages after which a commit checkpoints (the constructor says why). */
const WAL_CHECKPOINT_PAGES = 8000;

/** Bumped with every change to the tables below; `migrate` brings older files forward. */
const SCHEMA_VERSION = 6;

interface SecretRow {
  id: string;
  name: string;
  labels: string;
  driver: string | null;
  templating: string | null;
  sealed: Buffer | null;
  version: number;
  created_at: string;
  updated_at: string;
  /** NULL until the first rotate: version 1, stored at created_at. */
  value_version: number | null;
  latest_value_version: number | null;
  value_created_at: string | null;
}

/** A removed secret waiting out its recovery window; its values are in kept_values. */
interface RemovedRow extends SecretRow {
  removed_at: string;
  purge_after: string;
}

interface KeptRow {
  secret_id: string;
  version: number;
  secret_created_at: string;
  created_at: string;
  sealed: Buffer;
}

interface TokenRow {
  id: string;
  hash: string;
  allow: string;
  description: string;
  created_at: string;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

interface PendingWrite {
  fn: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  /** Resolved once committed, before the flush: an audit line flushed later covers it (WriteOptions in src/store/types.ts). */
  deferred: boolean;
  /** An audit line or a trim of them (src/store/sqlite-journal.ts): no secret changes. */
  journal: boolean;
  /** What the write does to the recent rows (src/store/sqlite-recent-rows.ts) once committed. */
  recent: RecentEffect;
}

/**
 * `forget`: anything (the rows are emptied); `create` and `update`: the write resolves with the
 * secret's new record; `drop`: it removes secret `id` when it resolves with true; `none`: it
 * leaves the secrets table alone (an audit line, a purge of a removed secret).
 */
type RecentEffect = 'forget' | 'create' | 'update' | { drop: string } | 'none';

/** Lists never need the sealed value: leaving it out saves copying it for every row. */
const METADATA = 'id, name, labels, driver, templating, NULL AS sealed, version, created_at, updated_at, value_version, latest_value_version, value_created_at';
/** What a removed secret keeps of its row: everything but the sealed value, which moves to kept_values. */
const REMOVED_COLUMNS =
  'id, name, name_key, labels, driver, templating, version, created_at, updated_at, value_version, latest_value_version, value_created_at';
const SECRET_COLUMNS = `${REMOVED_COLUMNS}, sealed`;

// Above every character a name or ID may hold: `prefix <= x < prefix + HIGH` is a prefix range.
const HIGH = '\u{10ffff}';

/**
 * Label conditions evaluated in SQL, each one an indexed EXISTS; any beyond are checked on the
 * rows SQL returns (a long AND nests as deep as it is long, and SQLite caps expression depth).
 */
const SQL_LABEL_TERMS = 32;

/** A label condition matching at most this many secrets is small enough to drive a lookup. */
export const DRIVER_PROBE = 1000;

/**
 * A rendered list whose driving condition matches at least this many secrets walks the listing
 * index in ID order; fewer are fetched by seq and sorted by ID, which costs less (at a million
 * secrets, 10,000 matches: 35 ms sorted, 105 ms walked) and holds a few MB while it sorts.
 */
export const SORT_BELOW = 20_000;

/** How a findSecrets lookup selects rows, before its label conditions. */
type Lookup = 'name' | 'namePrefix' | 'idPrefix' | 'labels';

const LOOKUP_WHERE: Record<Lookup, string> = {
  name: 'name_key = ?',
  namePrefix: 'name_key >= ? AND name_key < ?',
  idPrefix: 'id >= ? AND id < ?',
  // Driven by the label condition that matches fewest (its (key, value) index), the rest as EXISTS.
  labels: 'seq IN (SELECT secret_seq FROM secret_labels WHERE key = ?)',
};

export class SqliteStore implements Store {
  readonly kind = 'sqlite';
  readonly shared = false;
  private readonly db: Database.Database;
  private closed = false;
  private readonly stmt;
  private readonly wal: WalSync;
  private readonly checkStmt;
  private readonly labelStmts = new Map<string, Database.Statement<unknown[], SecretRow>>();
  /** This database's identity and its count of committed write transactions (src/store/acknowledged.ts). */
  private readonly storeId: string;
  private commits: number;
  /** Commits that held more than audit journal lines: what readGeneration counts. */
  private changes = 0;
  /** The commits known to be on disk (the WAL flushed): what a witness may name. */
  private durableCommits: number;
  private readonly bumpCommits;
  /**
   * The last version handed out, and the last one saved: versions are counted here and saved
   * once per commit, with it (a write undone leaves a gap, as swarmkit's raft indexes do).
   */
  private version: number;
  private savedVersion: number;
  private readonly saveVersion;
  /**
   * A batch's transaction (BEGIN IMMEDIATE ... COMMIT) and a write's savepoint inside it, each
   * wrapped once: better-sqlite3 builds four functions and their properties at every wrap.
   */
  private readonly inBatch: (batch: PendingWrite[]) => { outcomes: Outcome[]; commits: number };
  private readonly inSavepoint: (fn: () => unknown) => unknown;
  /** Whether the stored swarm state lets secrets be written; undefined until read, and after any swarm write. */
  private swarmActive: boolean | undefined;
  private commitListener: ((checkpoint: StoreCheckpoint) => void) | undefined;
  readonly journal: SqliteAuditJournal;
  private readonly listing: SqliteListing;
  private readonly recent = new RecentRows<SecretRow>();

  /**
   * Store.recentSecrets: the secrets this daemon created lately (the recent rows), which are never
   * behind the table; an update or a delete then needs no statement to find its secret.
   */
  readonly recentSecrets: Pick<Store, 'getSecret' | 'findSecrets'> = {
    getSecret: async (id) => {
      const row = this.recent.byId(id);
      return row && fromRow(row);
    },
    findSecrets: async (q) => (q.labels?.size ? undefined : this.recentByName(compactQuery(q))) ?? [],
  };

  readonly file: string;
  constructor(file: string) {
    this.file = file;
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    // NORMAL: COMMIT does not fsync; `wal` does, off the event loop, before a write resolves.
    this.db.pragma('synchronous = NORMAL');
    this.wal = new WalSync(`${file}-wal`);
    this.db.pragma('busy_timeout = 5000');
    // better-sqlite3 builds SQLite with a 16 MB page cache a connection. Writes land on random
    // pages of the listing index, which no cache of any size holds at scale, and the file is in
    // the OS's page cache anyway: 4 MB kept the fill's speed and took 17 MB off the daemon's
    // resident size at 100,000 secrets (docs/benchmark.md).
    this.db.pragma(`cache_size = -${PAGE_CACHE_KIB}`);
    // Sorts and temporary indexes stay in memory: spilled, they would put names and labels in
    // files under /tmp (SQLite's default here). The sorts a list runs are bounded (SORT_BELOW).
    this.db.pragma('temp_store = MEMORY');
    // A checkpoint copies each page the WAL holds into the database once, however often it was
    // written: a longer WAL coalesces more of the pages every commit rewrites (the tails of the
    // tables, the counters). 8000 pages (32 MB at most) filled 100,000 secrets at 4875 and 4933
    // creates/s against 4540 and 4495 with SQLite's 1000 (docs/benchmark.md).
    this.db.pragma(`wal_autocheckpoint = ${WAL_CHECKPOINT_PAGES}`);
    try {
      migrate(this.db);
    } catch (e) {
      this.db.close();
      throw e;
    }
    this.stmt = {
      insert: this.db.prepare(
        `INSERT INTO secrets (${SECRET_COLUMNS})
         VALUES (@id, @name, @name_key, @labels, @driver, @templating, @version, @created_at, @updated_at,
                 @value_version, @latest_value_version, @value_created_at, @sealed)`,
      ),
      byId: this.db.prepare<[string], SecretRow>('SELECT * FROM secrets WHERE id = ?'),
      all: this.db.prepare<[], SecretRow>(`SELECT ${METADATA} FROM secrets ORDER BY id`),
      byNameKey: this.db.prepare<[string], SecretRow>(`SELECT ${METADATA} FROM secrets WHERE name_key = ?`),
      byNamePrefix: this.db.prepare<[string, string], SecretRow>(`SELECT ${METADATA} FROM secrets WHERE name_key >= ? AND name_key < ?`),
      byIdPrefix: this.db.prepare<[string, string], SecretRow>(`SELECT ${METADATA} FROM secrets WHERE id >= ? AND id < ?`),
      updateLabels: this.db.prepare<[string, number, string, string, number], SecretRow>(
        'UPDATE secrets SET labels = ?, version = ?, updated_at = ? WHERE id = ? AND version = ? RETURNING *',
      ),
      seqOf: this.db.prepare<[string], number>('SELECT seq FROM secrets WHERE id = ?').pluck(),
      delete: this.db.prepare<[string], number>('DELETE FROM secrets WHERE id = ? RETURNING seq').pluck(),
      insertLabel: this.db.prepare<[number, string, string]>('INSERT INTO secret_labels (secret_seq, key, value) VALUES (?, ?, ?)'),
      deleteLabels: this.db.prepare<[number]>('DELETE FROM secret_labels WHERE secret_seq = ?'),
      deleteAllLabels: this.db.prepare('DELETE FROM secret_labels'),
      countKey: this.db.prepare<[string, number], { n: number }>('SELECT count(*) AS n FROM (SELECT 1 FROM secret_labels WHERE key = ? LIMIT ?)'),
      countLabel: this.db.prepare<[string, string, number], { n: number }>(
        'SELECT count(*) AS n FROM (SELECT 1 FROM secret_labels WHERE key = ? AND value = ? LIMIT ?)',
      ),
      setValue: this.db.prepare<[Buffer, number, number, string, number, string, string]>(
        `UPDATE secrets SET sealed = ?, value_version = ?, latest_value_version = ?, value_created_at = ?, version = ?, updated_at = ?
         WHERE id = ?`,
      ),
      keep: this.db.prepare<[string, number, string, string, Buffer]>(
        'INSERT INTO kept_values (secret_id, version, secret_created_at, created_at, sealed) VALUES (?, ?, ?, ?, ?)',
      ),
      kept: this.db.prepare<[string, number], KeptRow>('SELECT * FROM kept_values WHERE secret_id = ? AND version = ?'),
      keptOf: this.db.prepare<[string], { version: number; created_at: string }>(
        'SELECT version, created_at FROM kept_values WHERE secret_id = ? ORDER BY version',
      ),
      dropKept: this.db.prepare<[string, number]>('DELETE FROM kept_values WHERE secret_id = ? AND version = ?'),
      dropKeptOf: this.db.prepare<[string]>('DELETE FROM kept_values WHERE secret_id = ?'),
      keptPage: this.db.prepare<[string, number, number], KeptRow>(
        'SELECT * FROM kept_values WHERE (secret_id, version) > (?, ?) ORDER BY secret_id, version LIMIT ?',
      ),
      replaceKept: this.db.prepare<[Buffer, string, number, Buffer]>('UPDATE kept_values SET sealed = ? WHERE secret_id = ? AND version = ? AND sealed = ?'),
      insertRemoved: this.db.prepare<[string, string, string]>(
        `INSERT INTO removed_secrets (${REMOVED_COLUMNS}, removed_at, purge_after)
         SELECT ${REMOVED_COLUMNS}, ?, ? FROM secrets WHERE id = ?`,
      ),
      removedById: this.db.prepare<[string], RemovedRow>('SELECT * FROM removed_secrets WHERE id = ?'),
      removedByRef: this.db.prepare<[string, string], RemovedRow>('SELECT * FROM removed_secrets WHERE id = ? OR name_key = ? ORDER BY removed_at DESC, id'),
      expiredRemoved: this.db.prepare<[string, number], RemovedRow>('SELECT * FROM removed_secrets WHERE purge_after <= ? ORDER BY purge_after, id LIMIT ?'),
      deleteRemoved: this.db.prepare<[string]>('DELETE FROM removed_secrets WHERE id = ?'),
      deleteAllKept: this.db.prepare('DELETE FROM kept_values'),
      deleteAllRemoved: this.db.prepare('DELETE FROM removed_secrets'),
      sealedPage: this.db.prepare<[string, number], { id: string; created_at: string; value_version: number | null; sealed: Buffer }>(
        'SELECT id, created_at, value_version, sealed FROM secrets WHERE id > ? AND sealed IS NOT NULL ORDER BY id LIMIT ?',
      ),
      allRemoved: this.db.prepare<[], RemovedRow>('SELECT * FROM removed_secrets ORDER BY removed_at DESC, id'),
      replaceSealed: this.db.prepare<[Buffer, string, Buffer]>('UPDATE secrets SET sealed = ? WHERE id = ? AND sealed = ?'),
      deleteAll: this.db.prepare('DELETE FROM secrets'),
      readSwarm: this.db.prepare<[], { value: string }>("SELECT value FROM meta WHERE key = 'swarm'"),
      insertToken: this.db.prepare<[string, string, string, string, string]>(
        'INSERT INTO tokens (id, hash, allow, description, created_at) VALUES (?, ?, ?, ?, ?)',
      ),
      tokenById: this.db.prepare<[string], TokenRow>('SELECT * FROM tokens WHERE id = ?'),
      tokens: this.db.prepare<[], TokenRow>('SELECT * FROM tokens ORDER BY id'),
      deleteToken: this.db.prepare<[string]>('DELETE FROM tokens WHERE id = ?'),
      writeSwarm: this.db.prepare<[string]>("INSERT INTO meta (key, value) VALUES ('swarm', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value"),
    };
    this.checkStmt = {
      read: this.db.prepare<[], { value: Buffer }>("SELECT value FROM meta WHERE key = 'keyring_check'"),
      insert: this.db.prepare<[Buffer]>("INSERT INTO meta (key, value) VALUES ('keyring_check', ?) ON CONFLICT (key) DO NOTHING"),
      replace: this.db.prepare<[Buffer, Buffer]>("UPDATE meta SET value = ? WHERE key = 'keyring_check' AND value = ?"),
      clear: this.db.prepare("DELETE FROM meta WHERE key = 'keyring_check'"),
      walked: this.db.prepare<[], { value: string }>("SELECT value FROM meta WHERE key = 'keys_walked'"),
      markWalked: this.db.prepare<[string]>("INSERT INTO meta (key, value) VALUES ('keys_walked', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value"),
    };
    // Databases from before checkpoints get their identity at their first open by this version.
    this.db.prepare("INSERT INTO meta (key, value) VALUES ('store_id', ?), ('commits', 0) ON CONFLICT (key) DO NOTHING").run(randomBytes(16).toString('hex'));
    this.storeId = this.db.prepare<[], { value: string }>("SELECT value FROM meta WHERE key = 'store_id'").get()!.value;
    this.commits = this.db.prepare<[], { value: number }>("SELECT value FROM meta WHERE key = 'commits'").get()!.value;
    this.durableCommits = this.commits;
    this.bumpCommits = this.db.prepare<[], { value: number }>("UPDATE meta SET value = value + 1 WHERE key = 'commits' RETURNING value");
    this.version = this.db.prepare<[], { value: number }>("SELECT value FROM meta WHERE key = 'version'").get()!.value;
    this.savedVersion = this.version;
    this.saveVersion = this.db.prepare<[number]>("UPDATE meta SET value = ? WHERE key = 'version'");
    this.inSavepoint = this.db.transaction((fn: () => unknown) => fn());
    this.inBatch = this.db.transaction((batch: PendingWrite[]) => this.runBatch(batch)).immediate;
    this.listing = new SqliteListing(file, this.db);
    this.journal = new SqliteAuditJournal(
      this.db,
      (fn) => this.write(fn, undefined, 'journal'),
      () => this.wal.committed(),
    );
  }

  /**
   * The checkpoint of the database in `file`, read without changing anything (a read-only
   * connection never checkpoints or removes the WAL): a start can refuse a damaged store and
   * leave it as it found it. Undefined when it cannot be read that way (a fresh or old file).
   */
  static peekCheckpoint(file: string): StoreCheckpoint | undefined {
    let db: Database.Database | undefined;
    try {
      db = new Database(file, { readonly: true, fileMustExist: true });
      const get = (key: string) => db!.prepare<[string], { value: unknown }>('SELECT value FROM meta WHERE key = ?').get(key)?.value;
      const id = get('store_id');
      const commits = get('commits');
      return typeof id === 'string' && typeof commits === 'number' ? { id, commits } : undefined;
    } catch {
      return undefined;
    } finally {
      db?.close();
    }
  }

  /** Which database this is, and how many write transactions it has committed. */
  checkpoint(): StoreCheckpoint {
    return { id: this.storeId, commits: this.durableCommits };
  }

  /** Called after every commit, before any of its writes is answered (the checkpoint file). */
  onCommit(listener: (checkpoint: StoreCheckpoint) => void): void {
    this.commitListener = listener;
  }

  async readKeyringCheck(): Promise<Uint8Array | undefined> {
    return this.read(() => this.checkStmt.read.get()?.value);
  }

  async keyringCheck(sealed: Uint8Array): Promise<Uint8Array> {
    return this.write(() => {
      this.checkStmt.insert.run(Buffer.from(sealed));
      return this.checkStmt.read.get()!.value;
    });
  }

  async replaceKeyringCheck(from: Uint8Array, to: Uint8Array): Promise<boolean> {
    return this.write(() => this.checkStmt.replace.run(Buffer.from(to), Buffer.from(from)).changes > 0);
  }

  async keysWalked(): Promise<string | undefined> {
    this.ensureOpen();
    return this.checkStmt.walked.get()?.value;
  }

  async markKeysWalked(kekId: string): Promise<void> {
    await this.write(() => this.checkStmt.markWalked.run(kekId));
  }

  async createSecret(s: NewSecret, opts?: WriteOptions): Promise<SecretRecord> {
    return this.write(
      () => {
        this.ensureInSwarm();
        const version = this.nextVersion();
        const record: SecretRecord = { ...s, version, updatedAt: s.createdAt };
        this.insertSecret(record);
        return record;
      },
      opts,
      'create',
    );
  }

  async getSecret(id: string): Promise<SecretRecord | undefined> {
    const row = this.read(() => this.stmt.byId.get(id));
    return row && fromRow(row);
  }

  async findSecrets(q: SecretQuery): Promise<SecretRecord[]> {
    return this.read(() => this.findRows(q));
  }

  /** The count of commits that changed secrets (not audit journal lines only): every write commits through flush, which counts it. */
  readGeneration(): number | undefined {
    return this.closed ? undefined : this.changes;
  }

  private findRows(q: SecretQuery): SecretRecord[] {
    const c = compactQuery(q);
    const wanted = [...(q.labels ?? [])];
    if (wanted.length === 0) {
      if (c.all) return this.stmt.all.all().map(fromRow);
      return this.recentByName(c) ?? this.lookups(c, [], []);
    }
    const inSql = wanted.slice(0, SQL_LABEL_TERMS);
    const rest = new Map(wanted.slice(SQL_LABEL_TERMS));
    let found: SecretRecord[];
    if (c.all) {
      const driven = this.drivenByLabels(inSql);
      if (!driven) return []; // a condition nothing matches
      found = this.labelStatement('labels', driven.driverValue, driven.others)
        .all(...driven.params)
        .map(fromRow);
    } else {
      found = this.lookups(c, inSql, labelParams(inSql));
    }
    return rest.size === 0 ? found : found.filter((r) => labelsMatch(r, rest));
  }

  /**
   * Every secret, or those with `labels`, as `Secret` documents' JSON, or records where SQL does
   * not render them (sqlite-listing.ts). Undefined for more label conditions than SQL takes.
   */
  renderedList(labels?: ReadonlyMap<string, string>): AsyncIterable<(string | SecretRecord)[]> | undefined {
    this.ensureOpen();
    if (!labels || labels.size === 0) return this.listing.pages();
    if (labels.size > SQL_LABEL_TERMS) return undefined;
    const driven = this.read(() => this.drivenByLabels([...labels]));
    if (!driven) return this.listing.matching('0', [], 'short'); // a condition nothing matches
    const where = labelWhere('labels', driven.driverValue, driven.others);
    if (driven.matches < DRIVER_PROBE) return this.listing.matching(where, driven.params, 'short'); // below the probe's cap: one page
    const many = this.read(() => this.countMatches(driven.key, driven.value, SORT_BELOW)) >= SORT_BELOW;
    return this.listing.matching(where, driven.params, many ? 'walk' : 'sort');
  }

  /**
   * A lookup by labels alone, driven by the condition that matches fewest (driverCondition): its
   * shape, the other conditions, every parameter in order, and the driver's capped count.
   * Undefined when a condition matches nothing.
   */
  private drivenByLabels(labels: [string, string][]) {
    const driver = this.driverCondition(labels);
    if (driver.index < 0) return undefined;
    const [key, value] = labels[driver.index]!;
    const others = labels.filter((_, i) => i !== driver.index);
    const driverValue: '' | 'v' = value === '' ? '' : 'v';
    const params = [...(value === '' ? [key] : [key, value]), ...labelParams(others)];
    return { key, value, driverValue, others, params, matches: driver.matches };
  }

  /** A lookup by exact names alone whose every name is among the recent rows, sorted by ID as `lookups` sorts; else undefined. */
  private recentByName(c: ReturnType<typeof compactQuery>): SecretRecord[] | undefined {
    if (c.names.length === 0 || c.namePrefixes.length > 0 || c.idPrefixes.length > 0) return undefined;
    const rows: SecretRow[] = [];
    for (const n of c.names) {
      const row = this.recent.byNameKey(n);
      if (!row) return undefined;
      rows.push(row);
    }
    return rows.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).map(fromRow);
  }

  /**
   * One indexed lookup per criterion (an OR of ~1000 terms exceeded SQLite's expression
   * depth), each with the label conditions: the criteria left select disjoint ranges, so this
   * reads each row at most once per kind.
   */
  private lookups(c: ReturnType<typeof compactQuery>, labels: [string, string][], params: string[]): SecretRecord[] {
    const found = new Map<string, SecretRow>();
    const keep = (rows: SecretRow[]) => {
      for (const r of rows) found.set(r.id, r);
    };
    const stmt = (lookup: Lookup, plain: Database.Statement<[string], SecretRow> | Database.Statement<[string, string], SecretRow>) =>
      labels.length === 0 ? (plain as Database.Statement<unknown[], SecretRow>) : this.labelStatement(lookup, '', labels);
    const byName = stmt('name', this.stmt.byNameKey);
    const byNamePrefix = stmt('namePrefix', this.stmt.byNamePrefix);
    const byIdPrefix = stmt('idPrefix', this.stmt.byIdPrefix);
    for (const n of c.names) keep(byName.all(n, ...params));
    for (const p of c.namePrefixes) keep(byNamePrefix.all(p, p + HIGH, ...params));
    for (const p of c.idPrefixes) keep(byIdPrefix.all(p, p + HIGH, ...params));
    return [...found.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).map(fromRow);
  }

  /**
   * The index of the label condition that matches the fewest secrets, and how many it matches,
   * counted up to DRIVER_PROBE so the probe never reads far; index -1 if one matches none.
   */
  private driverCondition(labels: [string, string][]): { index: number; matches: number } {
    let best = 0;
    let bestCount = Infinity;
    for (const [i, [key, value]] of labels.entries()) {
      const limit = Math.min(bestCount, DRIVER_PROBE);
      const n = this.countMatches(key, value, limit);
      if (n === 0) return { index: -1, matches: 0 };
      if (n < bestCount) [best, bestCount] = [i, n];
    }
    return { index: best, matches: bestCount };
  }

  /** How many secrets have label `key` (with `value` unless ""), counted up to `limit`. */
  private countMatches(key: string, value: string, limit: number): number {
    return (value === '' ? this.stmt.countKey.get(key, limit) : this.stmt.countLabel.get(key, value, limit))!.n;
  }

  /**
   * The statement for a lookup with label conditions; one per shape (lookup, whether its driving
   * condition has a value, which of the others have one), prepared at first use.
   */
  private labelStatement(lookup: Lookup, driverValue: '' | 'v', labels: [string, string][]): Database.Statement<unknown[], SecretRow> {
    const shape = `${lookup}:${driverValue}:${labels.map(([, v]) => (v === '' ? 'k' : 'v')).join('')}`;
    let stmt = this.labelStmts.get(shape);
    if (!stmt) {
      const where = labelWhere(lookup, driverValue, labels);
      stmt = this.db.prepare<unknown[], SecretRow>(`SELECT ${METADATA} FROM secrets WHERE ${where} ORDER BY id`);
      if (this.labelStmts.size >= 256) this.labelStmts.clear(); // shapes are few in practice; never unbounded
      this.labelStmts.set(shape, stmt);
    }
    return stmt;
  }

  /**
   * A new row and its label rows, in the caller's savepoint. The ID is checked here: no index
   * holds IDs alone (the listing index finds them), so none enforces it (migration 6).
   */
  private insertSecret(record: SecretRecord): void {
    if (this.stmt.seqOf.get(record.id) !== undefined) throw new Error(`a secret with ID ${record.id} exists already`);
    let seq: number;
    try {
      seq = Number(this.stmt.insert.run(toRow(record)).lastInsertRowid);
    } catch (e) {
      if ((e as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw new NameConflict(record.name);
      throw e;
    }
    this.insertLabels(seq, record.labels);
  }

  /** The label rows of a new or relabelled secret (its row's seq), in the same savepoint as its row. */
  private insertLabels(seq: number, labels: Record<string, string>): void {
    for (const key of Object.keys(labels)) this.stmt.insertLabel.run(seq, key, labels[key]!);
  }

  async updateSecretLabels(id: string, expected: number, labels: Record<string, string>, updatedAt: string, opts?: WriteOptions): Promise<SecretRecord> {
    return this.write(
      () => {
        this.ensureInSwarm();
        const seq = this.stmt.seqOf.get(id);
        if (seq === undefined) throw new SecretNotFound(id);
        const version = this.nextVersion();
        const row = this.stmt.updateLabels.get(JSON.stringify(labels), version, updatedAt, id, expected);
        if (!row) throw new OutOfSequence(); // rolls back the version we took
        this.stmt.deleteLabels.run(seq);
        this.insertLabels(seq, labels);
        return fromRow(row);
      },
      opts,
      'update',
    );
  }

  async deleteSecret(id: string, opts?: WriteOptions): Promise<boolean> {
    return this.write(
      () => {
        const seq = this.stmt.delete.get(id);
        if (seq === undefined) return false; // a removed secret's values are not ours to drop
        this.stmt.deleteLabels.run(seq);
        this.stmt.dropKeptOf.run(id);
        return true;
      },
      opts,
      { drop: id },
    );
  }

  async listValueVersions(id: string): Promise<ValueVersionInfo[] | undefined> {
    return this.read(() => {
      const row = this.stmt.byId.get(id);
      if (!row) return undefined;
      const out: ValueVersionInfo[] = this.stmt.keptOf.all(id).map((k) => ({ version: k.version, createdAt: k.created_at, current: false }));
      if (row.sealed) {
        const current = currentOf(row);
        out.push({ version: current.version, createdAt: current.createdAt, current: true });
        out.sort((a, b) => a.version - b.version);
      }
      return out;
    });
  }

  async valueVersion(id: string, version: number): Promise<{ version: number; createdAt: string; sealed: Uint8Array } | undefined> {
    return this.read(() => {
      const row = this.stmt.byId.get(id);
      if (!row) return undefined;
      const current = currentOf(row);
      if (version === current.version) return row.sealed ? { ...current, sealed: row.sealed } : undefined;
      const kept = this.stmt.kept.get(id, version);
      return kept && { version, createdAt: kept.created_at, sealed: kept.sealed };
    });
  }

  async rotateValue(
    id: string,
    next: NewValueVersion,
    keep: number,
    updatedAt: string,
    opts?: WriteOptions,
  ): Promise<{ secret: SecretRecord; dropped: number[] }> {
    return this.write(() => {
      this.ensureInSwarm();
      const row = this.stmt.byId.get(id);
      if (!row) throw new SecretNotFound(id);
      if (next.version !== (row.latest_value_version ?? 1) + 1) throw new OutOfSequence();
      this.keepCurrent(row);
      this.stmt.setValue.run(Buffer.from(next.sealed), next.version, next.version, next.createdAt, this.nextVersion(), updatedAt, id);
      // At most `keep` versions in all, the new current one included and never dropped.
      const older = this.stmt.keptOf.all(id);
      const dropped = older.slice(0, Math.max(0, older.length - Math.max(keep - 1, 0))).map((k) => k.version);
      for (const v of dropped) this.stmt.dropKept.run(id, v);
      return { secret: fromRow(this.stmt.byId.get(id)!), dropped };
    }, opts);
  }

  async rollbackValue(id: string, version: number, updatedAt: string, opts?: WriteOptions): Promise<SecretRecord> {
    return this.write(() => {
      this.ensureInSwarm();
      const row = this.stmt.byId.get(id);
      if (!row) throw new SecretNotFound(id);
      if (version === currentOf(row).version) return fromRow(row);
      const kept = this.stmt.kept.get(id, version);
      if (!kept) throw new VersionNotFound(id, version);
      this.keepCurrent(row);
      this.stmt.dropKept.run(id, version);
      this.stmt.setValue.run(kept.sealed, version, row.latest_value_version ?? 1, kept.created_at, this.nextVersion(), updatedAt, id);
      return fromRow(this.stmt.byId.get(id)!);
    }, opts);
  }

  async keptValuesPage(after: KeptValueCursor | undefined, limit: number): Promise<KeptValue[]> {
    return this.read(() => {
      // ('', 0) sorts before every real (ID, version): IDs are never empty.
      return this.stmt.keptPage.all(after?.secretId ?? '', after?.version ?? 0, limit).map((k) => ({
        secretId: k.secret_id,
        secretCreatedAt: k.secret_created_at,
        version: k.version,
        createdAt: k.created_at,
        sealed: k.sealed,
      }));
    });
  }

  async replaceKeptValues(changes: KeptValueChange[]): Promise<number> {
    return this.write(() => {
      let n = 0;
      for (const c of changes) n += this.stmt.replaceKept.run(Buffer.from(c.to), c.secretId, c.version, Buffer.from(c.from)).changes;
      return n;
    });
  }

  async removeToRecovery(id: string, removedAt: string, purgeAfter: string, opts?: WriteOptions): Promise<boolean> {
    return this.write(
      () => {
        const row = this.stmt.byId.get(id);
        if (!row) return false;
        this.stmt.insertRemoved.run(removedAt, purgeAfter, id);
        this.keepCurrent(row);
        this.stmt.deleteLabels.run(this.stmt.delete.get(id)!); // a removed secret is in no label lookup; restore puts them back
        return true;
      },
      opts,
      { drop: id },
    );
  }

  async findRemoved(ref: string | undefined): Promise<RemovedSecret[]> {
    return this.read(() => {
      const rows = ref === undefined ? this.stmt.allRemoved.all() : this.stmt.removedByRef.all(ref, ref.toLowerCase());
      return rows.map(removedFromRow);
    });
  }

  async restoreRemoved(id: string, updatedAt: string): Promise<SecretRecord> {
    return this.write(() => {
      this.ensureInSwarm();
      const removed = this.stmt.removedById.get(id);
      if (!removed) throw new SecretNotFound(id);
      const { secret } = removedFromRow(removed);
      const current = currentOf(removed);
      const kept = this.stmt.kept.get(id, current.version);
      const record: SecretRecord = { ...secret, version: this.nextVersion(), updatedAt };
      if (kept) record.sealed = kept.sealed;
      this.insertSecret(record); // a NameConflict undoes the version taken
      this.stmt.dropKept.run(id, current.version);
      this.stmt.deleteRemoved.run(id);
      return record;
    });
  }

  async purgeRemoved(id: string): Promise<boolean> {
    return this.write(
      () => {
        if (this.stmt.deleteRemoved.run(id).changes === 0) return false; // a live secret's values stay
        this.stmt.dropKeptOf.run(id);
        return true;
      },
      undefined,
      'none',
    );
  }

  async expiredRemoved(now: string, limit: number): Promise<RemovedSecret[]> {
    return this.read(() => {
      return this.stmt.expiredRemoved.all(now, limit).map(removedFromRow);
    });
  }

  async sealedPage(afterId: string, limit: number): Promise<SealedEntry[]> {
    return this.read(() => this.stmt.sealedPage.all(afterId, limit)).map((r) => {
      const entry: SealedEntry = { id: r.id, createdAt: r.created_at, sealed: r.sealed };
      if (r.value_version !== null) entry.valueVersion = r.value_version;
      return entry;
    });
  }

  async replaceSealed(changes: SealedChange[]): Promise<number> {
    return this.write(() => {
      let n = 0;
      for (const c of changes) n += this.stmt.replaceSealed.run(Buffer.from(c.to), c.id, Buffer.from(c.from)).changes;
      return n;
    });
  }

  async readSwarm(): Promise<SwarmRecord | undefined> {
    const row = this.read(() => this.stmt.readSwarm.get());
    return row && (JSON.parse(row.value) as SwarmRecord);
  }

  async writeSwarm(swarm: SwarmRecord): Promise<number> {
    return this.write(() => {
      this.swarmActive = undefined;
      const version = this.nextVersion();
      const saved = swarm.cluster ? { ...swarm, cluster: { ...swarm.cluster, version } } : swarm;
      this.stmt.writeSwarm.run(JSON.stringify(saved));
      return version;
    });
  }

  async leaveSwarm(left: SwarmRecord): Promise<void> {
    await this.write(() => {
      this.swarmActive = undefined;
      this.stmt.deleteAll.run();
      this.stmt.deleteAllKept.run();
      this.stmt.deleteAllRemoved.run();
      this.stmt.deleteAllLabels.run();
      this.checkStmt.clear.run(); // nothing sealed is left: the next keys may differ (autolock resets them)
      this.nextVersion();
      this.stmt.writeSwarm.run(JSON.stringify(left));
    });
  }

  async createToken(t: TokenRecord): Promise<void> {
    await this.write(() => {
      try {
        this.stmt.insertToken.run(t.id, t.hash, JSON.stringify(t.allow), t.description, t.createdAt);
      } catch (e) {
        if ((e as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') throw new NameConflict(`token ${t.id}`);
        throw e;
      }
    });
  }

  async getToken(id: string): Promise<TokenRecord | undefined> {
    const row = this.read(() => this.stmt.tokenById.get(id));
    return row && tokenFromRow(row);
  }

  async listTokens(): Promise<TokenRecord[]> {
    return this.read(() => this.stmt.tokens.all()).map(tokenFromRow);
  }

  async deleteToken(id: string): Promise<boolean> {
    return this.write(() => this.stmt.deleteToken.run(id).changes > 0);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.pending.length > 0) this.flush(); // writes already accepted still commit
    this.askFlush();
    this.closed = true;
    await this.wal.close();
    this.db.close();
  }

  /** A write that raced a swarm leave must not outlive it: checked inside the transaction. */
  private ensureInSwarm(): void {
    if (this.swarmActive === undefined) {
      const row = this.stmt.readSwarm.get();
      this.swarmActive = !row || (JSON.parse(row.value) as SwarmRecord).state === 'active';
    }
    if (!this.swarmActive) throw new NotInSwarm();
  }

  /** Moves the current value of `row` (if it has one) among the kept values, inside the caller's write. */
  private keepCurrent(row: SecretRow): void {
    if (!row.sealed) return;
    const current = currentOf(row);
    this.stmt.keep.run(row.id, current.version, row.created_at, current.createdAt, row.sealed);
  }

  private nextVersion(): number {
    return ++this.version;
  }

  private pending: PendingWrite[] = [];

  /**
   * Group commit: writes that arrive in the same turn of the event loop share one transaction
   * and so one fsync. Each runs in its own savepoint, so one that throws (a name conflict, a
   * stale version) is undone alone. Every promise settles only after the commit is on disk, but
   * for those of writes whose audit line follows (WriteOptions): theirs settle at the commit.
   */
  private write<T>(fn: () => T, opts?: WriteOptions, effect: RecentEffect | 'journal' = 'forget'): Promise<T> {
    this.ensureOpen();
    const journal = effect === 'journal';
    const deferred = !journal && opts?.auditLineFollows === true;
    const recent = journal ? 'none' : effect;
    return new Promise<T>((resolve, reject) => {
      const queued = this.pending.push({ fn, resolve: resolve as (v: unknown) => void, reject, deferred, journal, recent });
      // Committed at the next turn even while the WAL's flush runs: holding them for its end
      // put their commit between two flushes, on the path of every write (docs/benchmark.md).
      if (queued === 1) setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    const batch = this.pending;
    if (batch.length === 0) return; // taken already, by close()
    this.pending = [];
    if (this.closed) {
      for (const w of batch) w.reject(new StoreUnavailable('the store is closed'));
      return;
    }
    let outcomes: Outcome[];
    let commits: number;
    try {
      ({ outcomes, commits } = this.inBatch(batch));
      this.savedVersion = this.version;
    } catch (error) {
      this.swarmActive = undefined; // a swarm write of the batch, read back by a later one, was undone
      const failed = unavailable(error) ?? error;
      for (const w of batch) w.reject(failed); // the commit itself failed: nothing was written
      return;
    }
    this.commits = commits;
    if (!batch.every((w) => w.journal)) this.changes++;
    this.keepRecent(batch, outcomes);
    const settle = (deferred: boolean) =>
      batch.forEach((w, i) => {
        if (w.deferred !== deferred) return;
        const o = outcomes[i]!;
        if (o.ok) w.resolve(o.value);
        else w.reject(o.error);
      });
    // Committed, and visible to reads. Deferred writes are answered now: their journal line
    // comes in a later commit, whose flush covers this one. The others wait for the WAL's flush.
    settle(true);
    if (batch.every((w) => w.deferred)) {
      if (this.flushPostponed) this.askFlush(); // the lines did not come: no second postponement
      return;
    }
    this.owed.push({
      durable: () => {
        // A witness (checkpoint file, audit stamp) names this commit only once it is on disk.
        this.durableCommits = Math.max(this.durableCommits, commits);
        this.commitListener?.(this.checkpoint());
        settle(false);
      },
      failed: (error: unknown) => {
        const failed = new StoreUnavailable(`the database could not be made durable: ${(error as NodeJS.ErrnoException).code ?? 'I/O error'}`);
        batch.forEach((w) => {
          if (!w.deferred) w.reject(failed);
        });
      },
    });
    // The deferred writes' journal lines are queued while their answers run, before the next
    // turn of the loop: a flush started now would leave them to the one after, a second flush
    // on every answer. So it waits for them once (never twice in a row, so it cannot starve).
    if (batch.some((w) => w.deferred) && !this.flushPostponed) {
      this.flushPostponed = true;
      setImmediate(() => {
        if (this.pending.length === 0) this.askFlush(); // else the commit of those lines asks
      });
    } else this.askFlush();
  }

  /**
   * The recent rows after a batch committed, write by write in its order (RecentEffect). A write
   * that failed was undone by its savepoint and changed nothing.
   */
  private keepRecent(batch: PendingWrite[], outcomes: Outcome[]): void {
    batch.forEach((w, i) => {
      const o = outcomes[i]!;
      if (!o.ok || w.recent === 'none') return;
      if (w.recent === 'forget') this.recent.forgetAll();
      else if (w.recent === 'create' || w.recent === 'update') {
        const { sealed: _value, ...metadata } = o.value as SecretRecord;
        const { name_key, ...row } = toRow(metadata);
        if (w.recent === 'create') this.recent.created(name_key, { ...row, sealed: null });
        else this.recent.updated(name_key, { ...row, sealed: null });
      } else if (o.value === true) this.recent.dropped(w.recent.drop);
    });
  }

  /** Commits whose writers wait for the WAL's flush, not yet given to it. */
  private owed: { durable: () => void; failed: (error: unknown) => void }[] = [];
  private flushPostponed = false;

  /** One flush for every commit owed one so far. */
  private askFlush(): void {
    this.flushPostponed = false;
    const owed = this.owed;
    if (owed.length === 0) return;
    this.owed = [];
    this.wal.committed().then(
      () => {
        for (const o of owed) o.durable();
      },
      (error: unknown) => {
        for (const o of owed) o.failed(error);
      },
    );
  }

  /**
   * The body of a batch's transaction: each write in its own savepoint, then the counters. An
   * audit journal write is one statement, which SQLite undoes by itself should it fail: it
   * needs no savepoint (half of a loaded batch's writes are journal lines).
   */
  private runBatch(batch: PendingWrite[]): { outcomes: Outcome[]; commits: number } {
    const outcomes: Outcome[] = [];
    for (const w of batch) {
      try {
        outcomes.push({ ok: true, value: w.journal ? w.fn() : this.inSavepoint(w.fn) });
      } catch (error) {
        if (unavailable(error)) throw error; // the database, not this write: the whole batch rolls back
        outcomes.push({ ok: false, error });
      }
    }
    const commits = this.bumpCommits.get()!.value; // counted with the writes, in the same commit
    if (this.version !== this.savedVersion) this.saveVersion.run(this.version);
    return { outcomes, commits };
  }

  private ensureOpen(): void {
    if (this.closed) throw new StoreUnavailable('the store is closed');
  }

  /** A read, with SQLite's own failures worded as for writes (StoreUnavailable). */
  private read<T>(fn: () => T): T {
    this.ensureOpen();
    try {
      return fn();
    } catch (error) {
      throw unavailable(error) ?? error;
    }
  }
}

/** SQLite's own failures, whose extended codes (SQLITE_IOERR_WRITE…) start with these. */
const UNAVAILABLE: Record<string, string> = {
  SQLITE_FULL: 'the disk is full',
  SQLITE_IOERR: 'an I/O error',
  SQLITE_BUSY: 'another process holds its lock',
};

/**
 * The store cannot serve right now (a 503, as when etcd has no quorum) when SQLite itself
 * fails rather than the request: a full disk, an I/O error, a lock held too long elsewhere.
 */
function unavailable(e: unknown): StoreUnavailable | undefined {
  const code = typeof e === 'object' && e !== null ? (e as { code?: unknown }).code : undefined;
  const why = typeof code === 'string' ? UNAVAILABLE[code.replace(/^(SQLITE_[A-Z]+).*$/, '$1')] : undefined;
  return why === undefined ? undefined : new StoreUnavailable(`the store (secretd.db) cannot be used: ${why} (${code})`, { cause: e });
}

function migrate(db: Database.Database): void {
  db.exec('CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value ANY NOT NULL) STRICT');
  const row = db.prepare<[], { value: number }>("SELECT value FROM meta WHERE key = 'schema_version'").get();
  const current = row?.value ?? 0;
  if (current > SCHEMA_VERSION) {
    throw new Error(`the data root was written by a newer secretd (store schema ${current}; this one knows ${SCHEMA_VERSION})`);
  }
  if (current === SCHEMA_VERSION) return;
  db.transaction(() => {
    if (current < 1) {
      db.exec(`
        CREATE TABLE secrets (
          id         TEXT PRIMARY KEY,
          name       TEXT NOT NULL,
          name_key   TEXT NOT NULL UNIQUE,  -- lower(name): names are unique regardless of case
          labels     TEXT NOT NULL,         -- JSON object
          driver     TEXT,                  -- JSON {Name, Options}
          templating TEXT,                  -- JSON {Name, Options}
          sealed     BLOB,                  -- src/crypto/envelope.ts format; never plaintext
          version    INTEGER NOT NULL,
          created_at TEXT NOT NULL,
          updated_at TEXT NOT NULL
        ) STRICT;
        INSERT INTO meta (key, value) VALUES ('version', 0);
      `);
    }
    if (current < 2) {
      db.exec(`
        CREATE TABLE tokens (
          id          TEXT PRIMARY KEY,
          hash        TEXT NOT NULL,        -- hex SHA-256 of the token's secret part, never the token
          allow       TEXT NOT NULL,        -- JSON array of name patterns
          description TEXT NOT NULL,
          created_at  TEXT NOT NULL
        ) STRICT;
      `);
    }
    if (current < 3) {
      // Value versions and the recovery window. The current value stays in secrets.sealed, so a
      // secret never rotated costs what it did; only values that are not current live apart.
      db.exec(`
        ALTER TABLE secrets ADD COLUMN value_version INTEGER;         -- NULL: never rotated (version 1)
        ALTER TABLE secrets ADD COLUMN latest_value_version INTEGER;  -- highest number issued; never reused
        ALTER TABLE secrets ADD COLUMN value_created_at TEXT;         -- when the current value was stored
        CREATE TABLE kept_values (
          secret_id         TEXT NOT NULL,  -- a live secret (older versions) or a removed one (all of them)
          version           INTEGER NOT NULL,
          secret_created_at TEXT NOT NULL,  -- the secret's own, which its seal context names
          created_at        TEXT NOT NULL,
          sealed            BLOB NOT NULL,
          PRIMARY KEY (secret_id, version)
        ) STRICT, WITHOUT ROWID;
        CREATE TABLE removed_secrets (
          id                   TEXT PRIMARY KEY,
          name                 TEXT NOT NULL,
          name_key             TEXT NOT NULL,  -- not unique: a name may be removed, reused and removed again
          labels               TEXT NOT NULL,
          driver               TEXT,
          templating           TEXT,
          version              INTEGER NOT NULL,
          created_at           TEXT NOT NULL,
          updated_at           TEXT NOT NULL,
          value_version        INTEGER,
          latest_value_version INTEGER,
          value_created_at     TEXT,
          removed_at           TEXT NOT NULL,
          purge_after          TEXT NOT NULL
        ) STRICT;
        CREATE INDEX removed_by_name_key ON removed_secrets (name_key);
        CREATE INDEX removed_by_purge_after ON removed_secrets (purge_after, id);  -- soonest first, ties by ID
      `);
    }
    if (current < 4) {
      // The label index: findSecrets filters by labels in SQL. Back-filled from the JSON column,
      // which stays the record's copy (a read needs no join). And the listing index (RENDERABLE).
      db.exec(`
        CREATE TABLE secret_labels (
          secret_id TEXT NOT NULL,
          key       TEXT NOT NULL,
          value     TEXT NOT NULL,
          PRIMARY KEY (secret_id, key)
        ) STRICT, WITHOUT ROWID;
        CREATE INDEX secret_labels_by_label ON secret_labels (key, value);
        CREATE INDEX secrets_listing ON secrets (id, name, labels, driver, templating, version, created_at, updated_at);
        INSERT INTO secret_labels (secret_id, key, value) SELECT s.id, j.key, j.value FROM secrets s, json_each(s.labels) j;
      `);
    }
    if (current < 5) {
      // The audit journal (src/store/sqlite-journal.ts): lines committed with the changes they record.
      db.exec('CREATE TABLE audit_journal (seq INTEGER PRIMARY KEY, line TEXT NOT NULL) STRICT');
    }
    if (current < 6) {
      // Writes append instead of landing at random: IDs are random, so every index keyed by
      // one dirties a page of its own per create, and a commit writes each dirty page to the
      // WAL. Label rows now name a secret by `seq`, the order rows were written in, so the
      // label tables grow at their ends; and the ID has no index of its own beside the listing
      // index, which begins with it and finds it as fast (insertSecret checks it is unused).
      db.exec(`
        CREATE TABLE secrets_next (
          seq                  INTEGER PRIMARY KEY,  -- the row's place in writing order (rowid)
          id                   TEXT NOT NULL,
          name                 TEXT NOT NULL,
          name_key             TEXT NOT NULL UNIQUE,
          labels               TEXT NOT NULL,
          driver               TEXT,
          templating           TEXT,
          sealed               BLOB,
          version              INTEGER NOT NULL,
          created_at           TEXT NOT NULL,
          updated_at           TEXT NOT NULL,
          value_version        INTEGER,
          latest_value_version INTEGER,
          value_created_at     TEXT
        ) STRICT;
        INSERT INTO secrets_next (${SECRET_COLUMNS}) SELECT ${SECRET_COLUMNS} FROM secrets ORDER BY rowid;
        DROP TABLE secret_labels;
        DROP TABLE secrets;
        ALTER TABLE secrets_next RENAME TO secrets;
        CREATE INDEX secrets_listing ON secrets (id, name, labels, driver, templating, version, created_at, updated_at);
        CREATE TABLE secret_labels (
          secret_seq INTEGER NOT NULL,  -- secrets.seq
          key        TEXT NOT NULL,
          value      TEXT NOT NULL,
          PRIMARY KEY (secret_seq, key)
        ) STRICT, WITHOUT ROWID;
        CREATE INDEX secret_labels_by_label ON secret_labels (key, value);
        INSERT INTO secret_labels (secret_seq, key, value) SELECT s.seq, j.key, j.value FROM secrets s, json_each(s.labels) j;
      `);
    }
    db.prepare("INSERT INTO meta (key, value) VALUES ('schema_version', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value").run(SCHEMA_VERSION);
  })();
}

function toRow(r: SecretRecord): SecretRow & { name_key: string } {
  return {
    id: r.id,
    name: r.name,
    name_key: r.name.toLowerCase(),
    labels: JSON.stringify(r.labels),
    driver: r.driver ? JSON.stringify(r.driver) : null,
    templating: r.templating ? JSON.stringify(r.templating) : null,
    sealed: r.sealed ? Buffer.from(r.sealed) : null,
    version: r.version,
    created_at: r.createdAt,
    updated_at: r.updatedAt,
    value_version: r.valueVersion ?? null,
    latest_value_version: r.latestValueVersion ?? null,
    value_created_at: r.valueCreatedAt ?? null,
  };
}

/** Which version a row's current value is, and when it was stored (a never-rotated secret: 1, at creation). */
function currentOf(row: SecretRow): { version: number; createdAt: string } {
  return { version: row.value_version ?? 1, createdAt: row.value_created_at ?? row.created_at };
}

function removedFromRow(row: RemovedRow): RemovedSecret {
  return { secret: fromRow(row), removedAt: row.removed_at, purgeAfter: row.purge_after };
}

function tokenFromRow(row: TokenRow): TokenRecord {
  return { id: row.id, hash: row.hash, allow: JSON.parse(row.allow) as string[], description: row.description, createdAt: row.created_at };
}

function fromRow(row: SecretRow): SecretRecord {
  const r: SecretRecord = {
    id: row.id,
    name: row.name,
    labels: JSON.parse(row.labels) as Record<string, string>,
    version: row.version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
  if (row.driver) r.driver = JSON.parse(row.driver) as DriverRef;
  if (row.templating) r.templating = JSON.parse(row.templating) as DriverRef;
  if (row.sealed) r.sealed = row.sealed;
  if (row.value_version !== null) r.valueVersion = row.value_version;
  if (row.latest_value_version !== null) r.latestValueVersion = row.latest_value_version;
  if (row.value_created_at !== null) r.valueCreatedAt = row.value_created_at;
  return r;
}

/**
 * The condition of a lookup with label conditions: the lookup (LOOKUP_WHERE; for `labels` its
 * driving condition, with a value when `driverValue`), and an indexed EXISTS per other label.
 */
function labelWhere(lookup: Lookup, driverValue: '' | 'v', labels: [string, string][]): string {
  let where = LOOKUP_WHERE[lookup];
  if (driverValue) where = where.replace('key = ?)', 'key = ? AND value = ?)');
  for (const [, value] of labels) {
    where += ` AND EXISTS (SELECT 1 FROM secret_labels l WHERE l.secret_seq = secrets.seq AND l.key = ?${value === '' ? '' : ' AND l.value = ?'})`;
  }
  return where;
}

/** The parameters of label conditions, in order: the key, then the value unless "" (key only). */
function labelParams(labels: [string, string][]): string[] {
  return labels.flatMap(([key, value]) => (value === '' ? [key] : [key, value]));
}
