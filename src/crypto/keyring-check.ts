/**
 * The store remembers which keys sealed its values, so other keys are refused at start instead
 * of silently sealing new values while every old one stops opening. The check value is a fixed
 * text sealed by the current KEK (the envelope format, not a secret); the first start stores it
 * (SQLite meta table, etcd `PREFIX/keyring-check`), every later start must open it:
 *
 *  - a keyring file that is missing while the store holds the check or any sealed value is not
 *    created anew (the restore that forgot it, a typo in --keyring): `refuseMissingKeyring`,
 *    before the key file is opened, so nothing is written;
 *  - keys that do not open it (another keyring, another --kek-provider, another daemon's file on
 *    a shared store) stop the start: `verifyKeyring`. A store from before check values is
 *    judged by one of its sealed values instead, then given its check.
 *
 * A KEK rotation re-wraps the check like any value before old KEKs go (`rewrapKeyringCheck`);
 * leaving the swarm clears it with the last sealed value (src/store/sqlite.ts).
 */
import { lstatSync } from 'node:fs';
import { StartRefused } from '../core/errors.ts';
import { openSealed } from './seal-binding.ts';
import type { Store } from '../store/types.ts';
import type { KeyService } from './keys.ts';

const CHECK = Buffer.from('secretd keyring check');
const AAD = 'secretd/keyring-check';

/** The keys at hand cannot open what the store holds. */
export class KeyringMismatch extends StartRefused {}

/** The keyring file is gone, but the store holds values sealed by it. */
export class KeyringMissing extends StartRefused {}

/** Where the keys and the store are, for the messages. */
export interface KeyringCheckContext {
  keyringFile: string;
  /** The store as the operator names it (the SQLite file, the etcd URL). */
  storeName: string;
}

/** Refuses to let a new keyring file be created while the store holds anything sealed. */
export async function refuseMissingKeyring(store: Store, usesKeyringFile: boolean, ctx: KeyringCheckContext): Promise<void> {
  if (!usesKeyringFile) return;
  // The store first, the file second: a daemon sharing the store stores the check only after its
  // keyring file exists, so one that started alongside it never sees the check without the file.
  const sealed = (await store.readKeyringCheck()) !== undefined || (await store.sealedPage('', 1)).length > 0;
  if (!sealed || exists(ctx.keyringFile)) return; // a fresh store (or one emptied by swarm leave): a new keyring is right
  const fix = store.shared
    ? 'copy the keyring file the other daemons use there, or point --keyring at it'
    : 'restore the file from a backup or point --keyring at it';
  throw new KeyringMissing(
    `the keyring ${ctx.keyringFile} is missing, but the store ${ctx.storeName} holds values sealed with its keys: ${fix} ` +
      '(a new keyring would leave every stored value unreadable)',
  );
}

/** The keys must open the stored check (or a sealed value of an older store); stores the check if there is none. */
export async function verifyKeyring(keys: KeyService, store: Store, ctx: KeyringCheckContext): Promise<void> {
  const stored = await store.readKeyringCheck();
  if (stored) {
    if (!(await opensCheck(keys, stored))) throw mismatch(keys, store, ctx);
    return;
  }
  const [sample] = await store.sealedPage('', 1);
  if (
    sample &&
    !(await openSealed(keys, sample).then(
      () => true,
      () => false,
    ))
  )
    throw mismatch(keys, store, ctx);
  const kept = await store.keyringCheck(await keys.seal(CHECK, AAD));
  if (!(await opensCheck(keys, kept))) throw mismatch(keys, store, ctx); // another daemon was first, with other keys
}

/** Before old KEKs are dropped: the check re-wrapped under the current KEK (a no-op when it is). */
export async function rewrapKeyringCheck(keys: KeyService, store: Store): Promise<void> {
  const stored = await store.readKeyringCheck();
  if (!stored) return;
  const to = await keys.rewrap(stored, AAD, AAD);
  if (to && !(await store.replaceKeyringCheck(stored, to))) {
    // Another daemon re-wrapped it meanwhile: it must still open, or no KEK may go.
    const now = await store.readKeyringCheck();
    if (now && !(await opensCheck(keys, now))) throw new Error('the keyring check no longer opens with these keys');
  }
}

async function opensCheck(keys: KeyService, sealed: Uint8Array): Promise<boolean> {
  try {
    return (await keys.open(sealed, AAD)).equals(CHECK);
  } catch {
    return false;
  }
}

function mismatch(keys: KeyService, store: Store, ctx: KeyringCheckContext): KeyringMismatch {
  if (keys.providerName !== 'file') {
    return new KeyringMismatch(
      `the key provider ${keys.providerName} cannot open the values in the store ${ctx.storeName}: ` +
        'start with the --kek-provider (and --driver-opt settings) that sealed them',
    );
  }
  if (store.shared) {
    return new KeyringMismatch(
      `the keyring ${ctx.keyringFile} cannot open what the other daemons on this store sealed: start every daemon with a copy of the same --keyring FILE`,
    );
  }
  return new KeyringMismatch(
    `the keyring ${ctx.keyringFile} does not hold the keys that sealed the values in the store ${ctx.storeName}: ` +
      'start with the keyring that sealed them (--keyring FILE), or restore it from a backup',
  );
}

/** Present, even as a (dangling) symbolic link: a link is never replaced by a new keyring. */
function exists(file: string): boolean {
  try {
    lstatSync(file);
    return true;
  } catch {
    return false;
  }
}
