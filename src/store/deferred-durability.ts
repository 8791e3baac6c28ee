/**
 * Which writes may resolve before their commit is flushed: those made inside
 * `AuditJournal.deferDurability` (src/store/types.ts), whose audit line follows in a later commit
 * of the same WAL and is flushed with them. The scope closes when its work ends, so anything
 * the work left running (a background walk it started) waits for its own flush again.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

interface Scope {
  open: boolean;
}

const scopes = new AsyncLocalStorage<Scope>();

export async function deferDurability<T>(work: () => Promise<T>): Promise<T> {
  const scope: Scope = { open: true };
  try {
    return await scopes.run(scope, work);
  } finally {
    scope.open = false;
  }
}

/** True inside an open `deferDurability` scope. */
export function durabilityDeferred(): boolean {
  return scopes.getStore()?.open === true;
}
