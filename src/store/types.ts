/**
 * The storage contract. A Store owns the two rules that must hold across concurrent writers
 * (and, with a distributed backend, across daemons): names are unique regardless of case, and
 * an update applies only to the version the caller saw. Every write takes the next value of one
 * store-wide, strictly increasing counter, as swarmkit's raft index does. A resolved write is
 * durable: on disk (or committed by a quorum) before the promise resolves.
 */
import type { TokenRecord } from '../delivery/types.ts';
import type { StoreCheckpoint } from './acknowledged.ts';
import type { SecretRecord } from '../secrets/types.ts';
import type { SwarmRecord } from '../swarm/types.ts';

/** Secrets matching any of the criteria (OR); no criteria at all means every secret. */
export interface SecretQuery {
  /** Exact names, compared regardless of case. */
  names?: string[];
  /** Name prefixes, compared regardless of case. */
  namePrefixes?: string[];
  /** ID prefixes, case-sensitive. */
  idPrefixes?: string[];
  /**
   * On top of the criteria above (AND): label key → wanted value, "" asking for the key only.
   * A store that indexes labels applies them (etcd); one that does not may ignore them, since
   * the secrets service checks the labels of what comes back either way.
   */
  labels?: ReadonlyMap<string, string>;
}

export type NewSecret = Omit<SecretRecord, 'version' | 'updatedAt'>;

/** A secret's sealed value, as key rotation reads it. */
export interface SealedEntry {
  id: string;
  createdAt: string;
  sealed: Uint8Array;
}

/** Replace the sealed value of secret `id`, if it is still exactly `from`, by `to`. */
export interface SealedChange {
  id: string;
  from: Uint8Array;
  to: Uint8Array;
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
  createSecret(secret: NewSecret): Promise<SecretRecord>;

  /** One secret, with its sealed value. */
  getSecret(id: string): Promise<SecretRecord | undefined>;

  /** Matching secrets in ascending ID order, without their sealed values (lists never need them). */
  findSecrets(query: SecretQuery): Promise<SecretRecord[]>;

  /**
   * Replaces the labels of secret `id` if its version is still `expectedVersion`.
   * Rejects with SecretNotFound if it is gone, OutOfSequence if the version moved on, NotInSwarm
   * as createSecret does.
   */
  updateSecretLabels(id: string, expectedVersion: number, labels: Record<string, string>, updatedAt: string): Promise<SecretRecord>;

  /** Deletes secret `id`; false if it did not exist. */
  deleteSecret(id: string): Promise<boolean>;

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

  /** Leaving the last manager's swarm: the swarm state and every secret go, in one write. */
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

  // Optional hooks of a store that counts its commits (SQLite): src/store/acknowledged.ts.

  /** The database's identity and how many write transactions it has committed. */
  checkpoint?(): StoreCheckpoint;

  /** Calls `listener` after every commit, before any write of it is answered. */
  onCommit?(listener: (checkpoint: StoreCheckpoint) => void): void;

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
