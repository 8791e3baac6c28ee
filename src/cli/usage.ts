/** A mistake on the command line: exit code 2 and a pointer to --help, as the docker CLI does. */
export class UsageError extends Error {}

/**
 * A failure worded for the user (often in the docker CLI's words): printed as it is, exit 1.
 * Daemon answers use DaemonError instead, which adds "Error response from daemon: ".
 */
export class Failure extends Error {}

/** Exit codes a script can rely on. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;
