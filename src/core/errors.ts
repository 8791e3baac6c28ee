/**
 * Every error secretd raises on purpose: one branded family (`SecretdError`), one class per
 * failure, each with a stable `code` and dockerd's wording; the start-up errors are part of it.
 * Nothing here knows about HTTP; src/http/errors.ts maps codes to statuses once, at the edge.
 */

export type ErrorCode =
  | 'invalid_argument'
  | 'invalid_request'
  | 'not_found'
  | 'name_conflict'
  | 'ambiguous'
  | 'out_of_sequence'
  | 'not_in_swarm'
  | 'already_in_swarm'
  | 'not_part_of_swarm'
  | 'manager_leave'
  | 'swarm_locked'
  | 'not_locked'
  | 'invalid_unlock_key'
  | 'driver_not_found'
  | 'plugin_unusable'
  | 'driver_failed'
  | 'template_failed'
  | 'unauthorized'
  | 'forbidden'
  | 'unavailable'
  | 'startup_failed';

const BRAND = Symbol.for('secretd.error');

export class SecretdError extends Error {
  readonly [BRAND] = true;
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** True for any SecretdError, also one thrown by a copy of this module loaded elsewhere (a driver). */
export function isSecretdError(e: unknown): e is SecretdError {
  return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[BRAND] === true;
}

/** swarmkit's InvalidArgument status: dockerd shows it with gRPC's text prefix. */
export class InvalidArgument extends SecretdError {
  constructor(desc: string) {
    super('invalid_argument', `rpc error: code = InvalidArgument desc = ${desc}`);
  }
}

/** A request dockerd refuses before it reaches swarmkit (body, query, version parsing). */
export class InvalidRequest extends SecretdError {
  constructor(message: string) {
    super('invalid_request', message);
  }
}

export class SecretNotFound extends SecretdError {
  constructor(input: string) {
    super('not_found', `secret ${input} not found`);
  }
}

/** A value version that is not kept (never issued, or dropped by --keep-versions). */
export class VersionNotFound extends SecretdError {
  constructor(secret: string, version: number) {
    super('not_found', `secret ${secret} has no version ${version}`);
  }
}

export class TokenNotFound extends SecretdError {
  constructor(id: string) {
    super('not_found', `token ${id} not found`);
  }
}

export class NameConflict extends SecretdError {
  constructor(name: string) {
    super('name_conflict', `rpc error: code = AlreadyExists desc = secret ${name} already exists`);
  }
}

export class AmbiguousPrefix extends SecretdError {
  constructor(input: string, matches: number) {
    super('ambiguous', `secret ${input} is ambiguous (${matches} matches found)`);
  }
}

/** A version compare-and-set lost: dockerd answers it as a 500, like swarmkit's plain store error. */
export class OutOfSequence extends SecretdError {
  constructor() {
    super('out_of_sequence', 'rpc error: code = Unknown desc = update out of sequence');
  }
}

export class NotInSwarm extends SecretdError {
  constructor() {
    super('not_in_swarm', 'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.');
  }
}

export class AlreadyInSwarm extends SecretdError {
  constructor() {
    super('already_in_swarm', 'This node is already part of a swarm. Use "docker swarm leave" to leave this swarm and join another one.');
  }
}

export class NotPartOfSwarm extends SecretdError {
  constructor() {
    super('not_part_of_swarm', 'This node is not part of a swarm');
  }
}

export class ManagerLeave extends SecretdError {
  constructor() {
    super(
      'manager_leave',
      'You are attempting to leave the swarm on a node that is participating as a manager. ' +
        'Removing the last manager erases all current state of the swarm. Use `--force` to ignore this message.',
    );
  }
}

/** Autolock is on and the daemon restarted: nothing opens until `docker swarm unlock`. */
export class SwarmLocked extends SecretdError {
  constructor(message = 'Swarm is encrypted and needs to be unlocked before it can be used. Please use "docker swarm unlock" to unlock it.') {
    super('swarm_locked', message);
  }
}

/** `swarm leave` without --force on a locked node. */
export class LockedLeave extends SwarmLocked {
  constructor() {
    super('Swarm is encrypted and locked. Please unlock it first or use `--force` to ignore this message.');
  }
}

export class NotLocked extends SecretdError {
  constructor() {
    super('not_locked', 'swarm is not locked');
  }
}

/** A well-formed unlock key that does not open the key file (dockerd: 401). */
export class InvalidUnlockKey extends SecretdError {
  constructor() {
    super('invalid_unlock_key', 'swarm could not be unlocked: invalid key provided');
  }
}

/** dockerd reports a missing secret-provider plugin as an Unknown gRPC error (a 500). */
export class DriverNotFound extends SecretdError {
  constructor(name: string) {
    super('driver_not_found', `rpc error: code = Unknown desc = plugin "${name}" not found`);
  }
}

/** A plugin was found but cannot serve secrets (dockerd: an Unknown gRPC error, a 500). */
export class PluginUnusable extends SecretdError {
  constructor(desc: string) {
    super('plugin_unusable', `rpc error: code = Unknown desc = ${desc}`);
  }
}

/** A secret driver failed to supply a value (its store is down, refused, or answered nonsense). */
export class DriverFailed extends SecretdError {
  constructor(driver: string, message: string, options?: { cause?: unknown }) {
    super('driver_failed', `secret driver ${driver}: ${message}`, options);
  }
}

/** A templated secret could not be rendered (unknown templating driver, or a template error). */
export class TemplateFailed extends SecretdError {
  constructor(secretId: string, message: string, options?: { cause?: unknown }) {
    super('template_failed', `failed to expand templated secret ${secretId}: ${message}`, options);
  }
}

/** A delivery request without a valid consumer token. */
export class Unauthorized extends SecretdError {
  constructor(message = 'a consumer token is required: send it as "Authorization: Bearer TOKEN"') {
    super('unauthorized', message);
  }
}

/** A consumer token whose scope does not cover the secret asked for. */
export class Forbidden extends SecretdError {
  constructor(message: string) {
    super('forbidden', message);
  }
}

/** The store cannot serve right now (closed, or a backend without quorum). */
export class StoreUnavailable extends SecretdError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('unavailable', message, options);
  }
}

/**
 * The daemon cannot start: a flag, a file, a listener, a driver. Its message is one line that
 * names the flag or file and the fix; src/daemon/run.ts prints it as it is, without a trace.
 * Never reaches HTTP (the daemon is not serving yet).
 */
export class StartupError extends SecretdError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('startup_failed', message, options);
  }
}

/**
 * A start-up that stops on purpose: the keys do not match the store, the store holds less than
 * was acknowledged, the data root is in use, the disk is full. The message is one line that
 * names the file or flag and the fix; the daemon prints it as is (no stack) and exits non-zero.
 */
export class StartRefused extends StartupError {}
