/**
 * Which writes may resolve before their commit is flushed: those made inside
 * `AuditJournal.deferDurability` (src/store/types.ts), whose audit line follows in a later commit
 * of the same WAL and is flushed with them. The scope closes when its work ends, so anything
 * the work left running (a background walk it started) waits for its own flush again.
 *
 * While an AsyncLocalStorage is enabled, Node 20 runs a hook at every promise the process makes
 * (about three times a promise's own cost), reads included. So the storage is disabled whenever
 * no scope is open: every context it still holds is then a closed scope, which answers false
 * either way, and the next `run` enables it again.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

interface Scope {
  open: boolean;
}

const scopes = new AsyncLocalStorage<Scope>();
let openScopes = 0;

export async function deferDurability<T>(work: () => Promise<T>): Promise<T> {
  const scope: Scope = { open: true };
  openScopes++;
  try {
    return await scopes.run(scope, work);
  } finally {
    scope.open = false;
    if (--openScopes === 0) scopes.disable();
  }
}

/** True inside an open `deferDurability` scope. */
export function durabilityDeferred(): boolean {
  return scopes.getStore()?.open === true;
}
