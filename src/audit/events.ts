/**
 * What one audit record says: who asked, what for, about which secret, and how it ended. Never
 * a value, a request body, a query string or a token's secret part.
 */

/**
 * The connection a request came on. Node's net API does not expose the peer's credentials of a
 * unix socket (no SO_PEERCRED), so a unix caller is known by the socket it used, whose mode
 * (0660) says who could have connected, not by its uid.
 */
export interface Peer {
  /** `daemon` for what the daemon records itself (audit.torn, audit.truncated, store.loss_accepted). */
  transport: 'unix' | 'tcp' | 'tls' | 'in-process' | 'daemon';
  /** The unix socket's path. */
  socket?: string;
  /** TCP/TLS remote address and port. */
  address?: string;
  port?: number;
  /** The TLS client certificate's subject (`O=…, CN=…`), when the client presented one. */
  certSubject?: string;
  /** `console`: the web console acted for this connection (its in-process Engine calls). */
  via?: 'console';
}

/** Who acted: the connection and, for deliveries, the consumer token. */
export interface Who extends Peer {
  /** A consumer token's public ID (the part between `sdt_` and the secret). */
  token?: string;
}

/** What a rotate or rollback changed, by version number. */
export interface ValueVersionsChange {
  version: number;
  previous: number;
  dropped?: number[];
}

export type AuditAction =
  | 'secret.create'
  | 'secret.update'
  | 'secret.remove'
  | 'secret.deliver'
  | 'secret.rotate'
  | 'secret.rollback'
  | 'secret.restore'
  | 'secret.purge'
  | 'swarm.init'
  | 'swarm.leave'
  | 'swarm.update'
  | 'swarm.unlock'
  | 'keys.rotate'
  | 'token.create'
  | 'token.revoke'
  | 'audit.torn'
  | 'audit.truncated'
  | 'store.loss_accepted';

/** One event as the daemon reports it; the log adds `seq`, `time` and `prev`. */
export interface AuditEvent {
  who: Who;
  action: AuditAction;
  /** The secret concerned: its ID and name once resolved, else `ref`, the ID, prefix or name the client gave. */
  secret?: { id?: string; name?: string; ref?: string };
  /** A consumer token concerned (token.create, token.revoke). */
  token?: string;
  /** What a swarm change asked for (`autolock`, `rotate…` flags); never a key. */
  change?: Record<string, string | boolean>;
  /**
   * For secret.rotate and secret.rollback: the value version made current, the one it replaced,
   * and the versions --keep-versions deleted (numbers only, never a value).
   */
  versions?: ValueVersionsChange;
  /** The task a delivery was for, when the consumer said. */
  task?: string;
  /** The service and node of that task (a Docker plugin's GetSecret names both). */
  service?: string;
  node?: string;
  /** The volume a value was written into (a Docker plugin's VolumeDriver.Mount). */
  volume?: string;
  /** For secret.deliver: the value version handed out (stored values only; a number, never a value). */
  version?: number;
  /** `ok`, or the error code of the refusal (`name_conflict`, `forbidden`, …; `error` if unknown). */
  result: string;
  /** The HTTP status answered (absent for deliveries, whose status the edge maps from `result`). */
  status?: number;
  /** For `audit.torn`: the unfinished line just before, which a crash left and the daemon kept. */
  torn?: { bytes: number; sha256: string };
  /** For `audit.truncated`: what the head file said the last line was, when the log ended earlier. */
  head?: { seq: number; hash: string };
  /** For `store.loss_accepted`: the checkpoint that was acknowledged and is not in the store. */
  acknowledged?: { id: string; commits: number };
  /**
   * Set by the log on every line: the SQLite store's identity and commit count when the line
   * was written (src/store/acknowledged.ts); absent for stores without one (etcd).
   */
  store?: { id: string; commits: number };
}

/** One line of the file: the event in a fixed key order, numbered and chained. */
export interface AuditRecord extends AuditEvent {
  seq: number;
  /** RFC 3339 with nanoseconds, UTC. */
  time: string;
  /** Hex SHA-256 of the previous line's bytes (without its newline); 64 zeros on line 1. */
  prev: string;
}
