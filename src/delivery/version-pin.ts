/**
 * A pinned value version (`version=N`): the delivery paths take it as the volume option
 * `version`, the swarm secret's label `com.secretd.version` (swarmkit sends a secret-provider
 * only the secret's name and labels, never its driver options), the query `?version=N` of
 * /_secretd/v1/secrets/{id}/value, and `--version N` of `secretd get` and `materialize`.
 * Written as `secretd secret versions` prints it and as rollback takes it (spec/secret-rollback.json).
 */

const VERSION_TEXT = /^[1-9][0-9]{0,14}$/;

/** The version `text` names, or undefined if it is not a version number (a whole number from 1). */
export function parseVersionPin(text: string): number | undefined {
  return VERSION_TEXT.test(text) ? Number(text) : undefined;
}

/** How each path words a bad pin. */
export const PIN_HINT = 'a version is a whole number from 1 (see secretd secret versions NAME)';
