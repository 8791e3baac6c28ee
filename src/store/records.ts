/**
 * The records the Store contract keeps: a secret, the swarm state, a consumer token. They live
 * here, under the store, so the store needs nothing from the layers above it; the domain
 * modules re-export them under their old names (src/secrets/types.ts, src/swarm/types.ts,
 * src/delivery/types.ts).
 */

/** `Driver` and `Templating` of a SecretSpec: a name and options handed to the driver. */
export interface DriverRef {
  Name: string;
  Options?: Record<string, string>;
}

/** What the store keeps: metadata in the clear, the value only sealed. */
export interface SecretRecord {
  id: string;
  name: string;
  labels: Record<string, string>;
  driver?: DriverRef;
  templating?: DriverRef;
  /** Sealed value (src/crypto/envelope.ts); absent for a driver-backed secret without data. */
  sealed?: Uint8Array;
  /** From one store-wide counter: above every version written before this write began; concurrent writes may share one (Store). */
  version: number;
  createdAt: string;
  updatedAt: string;
  /**
   * Rotation (src/secrets/versions.ts): which value version `sealed` is, the highest version
   * number ever issued (numbers are never reused), and when the current one was stored. All three
   * are absent for a secret that was never rotated: version 1, stored at `createdAt`.
   */
  valueVersion?: number;
  latestValueVersion?: number;
  valueCreatedAt?: string;
}

/** The persisted swarm state of this daemon (or, with a shared store, of the whole cluster). */
export interface SwarmRecord {
  /** "inactive" once the node left; "active" while it is a manager. */
  state: 'active' | 'inactive';
  /** Present while active. */
  cluster?: {
    id: string;
    nodeId: string;
    version: number;
    createdAt: string;
    updatedAt: string;
    listenAddr: string;
    advertiseAddr: string;
    autoLockManagers: boolean;
    labels: Record<string, string>;
    joinTokens: { worker: string; manager: string };
  };
}

/**
 * A consumer token as stored. The token a consumer holds is `sdt_<id>_<secret>`; only a SHA-256
 * of the secret part is kept, so a copy of the store cannot be used to read values.
 */
export interface TokenRecord {
  id: string;
  /** Hex SHA-256 of the token's secret part. */
  hash: string;
  /** Name patterns (`*` matches any run of characters) the token may read; at least one. */
  allow: string[];
  /** What the administrator said it is for; free text, shown by `token ls`. */
  description: string;
  createdAt: string;
}
