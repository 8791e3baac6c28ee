/**
 * The storage contract. A Store owns the two rules that must hold across concurrent writers
 * (and, with a distributed backend, across daemons): names are unique regardless of case, and
 * an update applies only to the version the caller saw. Versions come from one store-wide counter,
 * as swarmkit's raft index does: a write takes a value larger than that of every write that
 * resolved before it began, so a secret's version strictly increases and is never reused.
 * Concurrent writes may share one value (one transaction, as objects changed in one swarmkit raft
 * transaction share its index). A resolved write is durable: on disk (or committed by a quorum)
 * before the promise resolves.
 */
import type { TokenRecord } from './records.ts';
import type { StoreCheckpoint } from './acknowledged.ts';
import type { SecretRecord } from './records.ts';
import type { SwarmRecord } from './records.ts';

/** Secrets matching any of the criteria (OR); no criteria at all means every secret. */
export interface SecretQuery {
  /** Exact names, compared regardless of case. */
  names?: string[];
  /** Name prefixes, compared regardless of case. */
  namePrefixes?: string[];
  /** ID prefixes, case-sensitive. */
  idPrefixes?: string[];
  /**
   * On top of the criteria above (AND): label key → wanted value, "" asking for the key only;
   * keys and values compare exactly. Every store applies them, from an index (SQLite's
   * secret_labels table, etcd's cache): callers never check labels again.
   */
  labels?: ReadonlyMap<string, string>;
}

export type NewSecret = Omit<SecretRecord, 'version' | 'updatedAt'>;

/** A secret's sealed value, as key rotation reads it. */
export interface SealedEntry {
  id: string;
  createdAt: string;
  /** Which value version `sealed` is; absent for version 1 (never rotated). */
  valueVersion?: number;
  sealed: Uint8Array;
}

/** Replace the sealed value of secret `id`, if it is still exactly `from`, by `to`. */
export interface SealedChange {
  id: string;
  from: Uint8Array;
  to: Uint8Array;
}

/** One kept version of a secret's value, as `secretd secret versions` lists it: never its bytes. */
export interface ValueVersionInfo {
  version: number;
  createdAt: string;
  current: boolean;
}

/**
 * A kept value that is not a live secret's current one: an older version (rotate, rollback), or
 * the current value of a secret waiting out its recovery window. Key rotation re-wraps these too.
 * `secretCreatedAt` is the secret's own creation time, which its seal context names.
 */
export interface KeptValue {
  secretId: string;
  secretCreatedAt: string;
  version: number;
  createdAt: string;
  sealed: Uint8Array;
}

/** Where a walk over kept values stopped: the last (secretId, version) it returned. */
export interface KeptValueCursor {
  secretId: string;
  version: number;
}

/** Replace the sealed bytes of one kept value, if they are still exactly `from`. */
export interface KeptValueChange {
  secretId: string;
  version: number;
  from: Uint8Array;
  to: Uint8Array;
}

/** A new current value for rotateValue. */
export interface NewValueVersion {
  /** One above the secret's `latestValueVersion` (1 if absent) as the caller read it, who sealed with it. */
  version: number;
  createdAt: string;
  sealed: Uint8Array;
}

/** A secret removed with a recovery window: hidden from every other method until restored or purged. */
export interface RemovedSecret {
  /** As it was when removed, without its sealed value. */
  secret: SecretRecord;
  removedAt: string;
  /**
   * When it may be purged, as Date.toISOString() writes it (UTC, always milliseconds, one length),
   * so that stores compare these as text; `expiredRemoved`'s `now` has the same form.
   */
  purgeAfter: string;
}

/**
 * How a write settles. By default its promise resolves once its commit is on disk. With
 * `auditLineFollows` it may resolve once committed, before that: for a caller that records an
 * audit line after it and answers nobody until that line is durable, whose flush then covers the
 * write too (a store with an AuditJournal; one without settles as by default).
 */
export interface WriteOptions {
  auditLineFollows?: boolean;
}

export interface Store extends KeyringCheckStore {
  /** Backend name for logs and /info ("sqlite", "etcd"). */
  readonly kind: string;

  /** Several daemons share this store (etcd): one daemon alone must not change the keys. */
  readonly shared: boolean;

  /**
   * Inserts a secret, taking the next version. Rejects with NameConflict if the name is taken in
   * any case, and with NotInSwarm if the stored swarm state says the node left (a create that
   * raced `swarm leave` must not survive it).
   */
  createSecret(secret: NewSecret, opts?: WriteOptions): Promise<SecretRecord>;

  /** One secret, with its sealed value. */
  getSecret(id: string): Promise<SecretRecord | undefined>;

  /** Matching secrets in ascending ID order, without their sealed values (lists never need them). */
  findSecrets(query: SecretQuery): Promise<SecretRecord[]>;

  /**
   * Optional: a number that changes whenever a committed write may change what getSecret,
   * findSecrets or renderedList return, so answers read at one generation may be kept until it
   * changes (src/secrets/answer-cache.ts). Undefined when it cannot say (closed). Absent where
   * other processes write (etcd).
   */
  readGeneration?(): number | undefined;

  /**
   * Optional: the secrets (without values) as this daemon last saw them, with no round trip to a
   * quorum or statement: possibly behind, never ahead (etcd's watch-fed cache; SQLite's rows of
   * the secrets it created lately, which may lack any). Only for picking the target of a write
   * whose own transaction proves the secret still exists; the secrets service falls back to
   * getSecret and findSecrets when that write finds it gone or the view lacks it.
   */
  readonly recentSecrets?: Pick<Store, 'getSecret' | 'findSecrets'>;

  /**
   * Replaces the labels of secret `id` if its version is still `expectedVersion`.
   * Rejects with SecretNotFound if it is gone, OutOfSequence if the version moved on, NotInSwarm
   * as createSecret does.
   */
  updateSecretLabels(id: string, expectedVersion: number, labels: Record<string, string>, updatedAt: string, opts?: WriteOptions): Promise<SecretRecord>;

  /** Deletes secret `id` and every kept version of its value, in one write; false if it did not exist. */
  deleteSecret(id: string, opts?: WriteOptions): Promise<boolean>;

  // Value versions (src/secrets/versions.ts). A secret never rotated has no kept values: these
  // cost nothing on the paths above.

  /** Every kept version of secret `id`'s value, in ascending version order; undefined if no such secret. */
  listValueVersions(id: string): Promise<ValueVersionInfo[] | undefined>;

  /** One kept version of a live secret's value with its sealed bytes (the current one included). */
  valueVersion(id: string, version: number): Promise<{ version: number; createdAt: string; sealed: Uint8Array } | undefined>;

  /**
   * Makes `next` the current value of secret `id`, keeping the one it replaces, and deletes the
   * oldest kept versions (lowest numbers, never the new current) until at most `keep` remain, all in
   * one write that takes the next store version and sets `updatedAt`. Rejects with OutOfSequence
   * unless `next.version` is one above the secret's latestValueVersion (another rotate was first;
   * the caller seals again and retries), SecretNotFound, NotInSwarm. Resolves with the new record
   * (with its sealed value) and the numbers of the versions deleted.
   */
  rotateValue(id: string, next: NewValueVersion, keep: number, updatedAt: string, opts?: WriteOptions): Promise<{ secret: SecretRecord; dropped: number[] }>;

  /**
   * Makes kept version `version` the current value again, keeping the one it replaces, in one
   * write that takes the next store version and sets `updatedAt`. Already current: resolves with
   * the record unchanged. Rejects with VersionNotFound if it is not kept, SecretNotFound, NotInSwarm.
   */
  rollbackValue(id: string, version: number, updatedAt: string, opts?: WriteOptions): Promise<SecretRecord>;

  /** Up to `limit` kept values after `after` (all from the start when absent), in (secretId, version) order. */
  keptValuesPage(after: KeptValueCursor | undefined, limit: number): Promise<KeptValue[]>;

  /** As replaceSealed, for kept values; resolves with how many applied. */
  replaceKeptValues(changes: KeptValueChange[]): Promise<number>;

  // The recovery window (--recovery-window): removed secrets that can still be restored.

  /**
   * Removes secret `id` from sight until `purgeAfter`: its name is free at once, its values are
   * kept sealed. False if it did not exist.
   */
  removeToRecovery(id: string, removedAt: string, purgeAfter: string, opts?: WriteOptions): Promise<boolean>;

  /**
   * Removed secrets whose ID is `ref` or whose name equals `ref` regardless of case (every one
   * when `ref` is undefined), most recently removed first.
   */
  findRemoved(ref: string | undefined): Promise<RemovedSecret[]>;

  /**
   * Brings removed secret `id` back as it was (same ID, labels, values), taking the next store
   * version and setting `updatedAt`. Rejects with NameConflict if its name was taken meanwhile,
   * SecretNotFound if it is not in recovery, NotInSwarm.
   */
  restoreRemoved(id: string, updatedAt: string): Promise<SecretRecord>;

  /** Deletes removed secret `id` and all its values for good; false if it was not in recovery. */
  purgeRemoved(id: string): Promise<boolean>;

  /** Up to `limit` removed secrets whose purgeAfter is at or before `now`, soonest first. */
  expiredRemoved(now: string, limit: number): Promise<RemovedSecret[]>;

  /**
   * Up to `limit` secrets that hold a sealed value, with IDs above `afterId`, in ascending ID
   * order: key rotation walks the store with it, one page at a time.
   */
  sealedPage(afterId: string, limit: number): Promise<SealedEntry[]>;

  /**
   * Re-sealing without a version: each change applies only if the secret still holds exactly
   * `from` (a deleted secret or a newer value is skipped); nothing else about the secret
   * changes, its version included. Durable when resolved, with how many changes applied.
   */
  replaceSealed(changes: SealedChange[]): Promise<number>;

  /** The persisted swarm state; undefined in a store that has never held one. */
  readSwarm(): Promise<SwarmRecord | undefined>;

  /** Saves the swarm state, giving it the next version (returned). */
  writeSwarm(swarm: SwarmRecord): Promise<number>;

  /** Leaving the last manager's swarm: the swarm state and every secret (kept values and removed ones too) go, in one write. */
  leaveSwarm(left: SwarmRecord): Promise<void>;

  /** Saves a new consumer token (only its hash); rejects with NameConflict if the ID exists. */
  createToken(token: TokenRecord): Promise<void>;

  /** One consumer token by ID. */
  getToken(id: string): Promise<TokenRecord | undefined>;

  /** Every consumer token, in ascending ID order. */
  listTokens(): Promise<TokenRecord[]>;

  /** Revokes a consumer token; false if it did not exist. Tokens outlive `swarm leave`. */
  deleteToken(id: string): Promise<boolean>;

  /** Finishes pending writes and releases the backend. */
  close(): Promise<void>;

  // Optional hooks of stores that several daemons share (etcd); the callers check presence.

  /**
   * Saves the swarm state only if no active swarm is stored, else rejects with AlreadyInSwarm:
   * daemons that start together on an empty store then join one swarm instead of each
   * overwriting the other's.
   */
  initSwarm?(swarm: SwarmRecord): Promise<number>;

  /**
   * Calls `onChange` with the new swarm state whenever any daemon changes it, until close();
   * the promise settles once changes made from then on will be reported.
   */
  watchSwarm?(onChange: (swarm: SwarmRecord) => void): Promise<void>;

  /**
   * Every secret in ascending ID order, or every one with `labels` (as SecretQuery.labels), for
   * the Engine API's lists, in parts: a text holds one or more consecutive `Secret` documents
   * joined by commas, exactly as JSON.stringify(toView(record)) writes each; a record (without
   * its sealed value, perhaps without its value versions) is one the store does not render.
   * Joined with commas, the parts make the array's contents. SQLite renders lists in SQL, so a
   * list needs no JavaScript object per secret. The parts come a page at a time, all from one
   * snapshot; a list abandoned midway is ended with `return`. Undefined for label conditions
   * the store cannot render (findSecrets then answers).
   */
  renderedList?(labels?: ReadonlyMap<string, string>): AsyncIterable<(string | SecretRecord)[]> | undefined;

  // Optional hooks of a store that remembers its last complete key walk (SQLite), so a start
  // need not walk every value again (src/secrets/key-rotation.ts). Shared stores leave them out:
  // another daemon may be walking.

  /** The KEK that a walk found every value wrapped by, as markKeysWalked last recorded it. */
  keysWalked?(): Promise<string | undefined>;

  /** Records that a walk found every value wrapped by KEK `kekId` (no older KEK, no format 1 left). */
  markKeysWalked?(kekId: string): Promise<void>;

  // Optional hooks of a store that counts its commits (SQLite): src/store/acknowledged.ts.

  /** The database's identity and how many write transactions it has committed. */
  checkpoint?(): StoreCheckpoint;

  /** Calls `listener` after every commit, before any write of it is answered. */
  onCommit?(listener: (checkpoint: StoreCheckpoint) => void): void;

  /** Present when the store can carry the audit log's lines in its own commits (SQLite). */
  readonly journal?: AuditJournal;
}

/**
 * Audit lines kept in the store's own commits (src/audit/log.ts), so a change and its line are
 * made durable by one flush instead of two in a row. The audit file is written from them once
 * they are durable, and they are dropped only once the file holding them is on disk.
 */
export interface AuditJournal {
  /** Queues the line into the next commit; resolves once that commit, and every earlier one, is on disk. */
  append(seq: number, line: string): Promise<void>;

  /** Resolves once every commit made so far is on disk. */
  flushed(): Promise<void>;

  /** The lines kept with seq above `seq`, in order (a start copies those its file lacks). */
  linesAfter(seq: number): { seq: number; line: string }[];

  /** Drops the lines up to and including `seq`: the audit file holds them on disk. */
  trim(seq: number): Promise<void>;
}

/**
 * The keyring check (src/crypto/keyring-check.ts): a fixed text sealed by the keys that sealed
 * the store's values, so a start with other keys (a lost or wrong keyring, another key
 * provider) is refused instead of sealing new values under new keys. Not a secret.
 */
export interface KeyringCheckStore {
  /** The stored check, if any. */
  readKeyringCheck(): Promise<Uint8Array | undefined>;

  /**
   * Stores `sealed` as the check unless one is stored already, and returns the stored one: the
   * caller proves its keys open it (with a shared store, another daemon may have been first).
   */
  keyringCheck(sealed: Uint8Array): Promise<Uint8Array>;

  /** Replaces the check if it is still exactly `from` (a KEK rotation re-wraps it); false if not. */
  replaceKeyringCheck(from: Uint8Array, to: Uint8Array): Promise<boolean>;
}
