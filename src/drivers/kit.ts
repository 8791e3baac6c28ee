/**
 * The driver kit: what every driver needs and should not copy — swarmkit's bound on a value,
 * the error a driver throws, and the check of its setting and option keys. It imports nothing
 * but types, so a driver kept outside secretd may import it as it imports ./types.ts.
 */
import type { StringMap } from './types.ts';

/** swarmkit's MaxSecretSize: a secret's value must be shorter than 500 KiB. */
export const MAX_SECRET_SIZE = 500 * 1024;

/** The largest value a driver may return, render or store, in bytes: 511999. */
export const MAX_VALUE_BYTES = MAX_SECRET_SIZE - 1;

/** A driver's refusal. secretd names the driver when it reports one (`secret driver NAME: …`). */
export function driverError(message: string): Error {
  return new Error(message);
}

/**
 * Throws `unknown setting "KEY" (known: a, b)` (or `option`) for the first key of `given` that
 * is not in `known`: settings come from `--driver-opt NAME.KEY=VALUE`, options from the
 * secret's untrusted `Driver.Options`. `fail` makes the error (default driverError).
 */
export function checkKeys(what: 'setting' | 'option', given: StringMap, known: readonly string[], fail: (message: string) => Error = driverError): void {
  for (const key of Object.keys(given)) {
    if (!known.includes(key)) throw fail(`unknown ${what} "${key}" (known: ${known.join(', ')})`);
  }
}
