/** A mistake on the command line: exit code 2 and a pointer to --help, as the docker CLI does. */
export class UsageError extends Error {}

/** Exit codes a script can rely on. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;
