/**
 * KEK rotation and migration, in the background while the API serves. A rotation first makes a
 * new KEK current (durable before any data key uses it), so new writes use it at once; then a
 * task walks the store a page at a time and re-wraps every data key still under an older KEK
 * (format-1 values of older data roots are re-sealed under a new data key on the same walk).
 * Every replacement is a compare-and-set that keeps the secret's version. Old KEKs are kept
 * until a walk that starts after every older seal has settled finds nothing left to re-wrap.
 *
 * A kill at any moment is safe: a value is replaced only by one that opens with a KEK the
 * provider holds, and old KEKs go only after the last walk; the walk simply starts over at the
 * next start (it runs at every start and after every unlock).
 *
 * A store that remembers its last complete walk (Store.keysWalked) is not walked again while
 * nothing can have changed since: the provider holds only the KEK that walk found everywhere
 * (every value written since was sealed by it). A rotation makes another KEK current, so the
 * next start walks; at a million secrets a start would otherwise read every one of them.
 */
import type { Logger } from 'pino';
import { rewrapKeyringCheck } from '../crypto/keyring-check.ts';
import type { KeyService } from '../crypto/keys.ts';
import type { KeptValueChange, KeptValueCursor, SealedChange, Store } from '../store/types.ts';
import { legacySealContext, sealContext, valueContext } from '../crypto/seal-binding.ts';

/** Secrets re-wrapped per store write. */
const BATCH = 50;

export interface RotationStatus {
  state: 'idle' | 'running' | 'failed';
  /** Values re-wrapped (or migrated) by the current or last walk. */
  rewrapped: number;
  /** Values that could not be opened by the last walk (their IDs are logged). */
  failed: number;
  startedAt?: string;
  finishedAt?: string;
}

export class KeyRotation {
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private status: RotationStatus = { state: 'idle', rewrapped: 0, failed: 0 };

  private readonly store: Store;
  private readonly keys: KeyService;
  private readonly log: Logger;
  constructor(store: Store, keys: KeyService, log: Logger) {
    this.store = store;
    this.keys = keys;
    this.log = log;
  }

  /**
   * A kept value became a current one again (rollback, restore): it may have moved behind the
   * walk's cursor, from the part still to walk into the part already walked. A check pass during
   * which that happened proves nothing, so it is walked again.
   */
  keptValueMoved(): void {
    this.moves++;
  }

  private moves = 0;

  /** A new current KEK, then the background walk. */
  async rotate(): Promise<void> {
    await this.keys.rotateKek();
    this.log.info({ kek: this.keys.currentKeyId() }, 'key-encryption key rotated; re-wrapping data keys');
    this.start();
  }

  /** Starts the walk, or has the running one go over the store once more. */
  start(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.status = { state: 'running', rewrapped: 0, failed: 0, startedAt: new Date().toISOString() };
    this.running = this.run()
      .then(
        () => {
          this.status = { ...this.status, state: this.status.failed > 0 ? 'failed' : 'idle', finishedAt: new Date().toISOString() };
        },
        (e) => {
          this.status = { ...this.status, state: 'failed', finishedAt: new Date().toISOString() };
          if (!this.stopped) this.log.error({ err: (e as Error)?.name, msg: (e as Error)?.message }, 'key rotation stopped; it resumes at the next start');
        },
      )
      .finally(() => {
        this.running = undefined;
        if (this.again && !this.stopped) {
          this.again = false;
          this.start();
        }
      });
  }

  get state(): RotationStatus {
    return { ...this.status };
  }

  /** Resolves when the walk in progress (if any) has finished. */
  async settled(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Stops after the page in progress (closing the daemon). */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.running?.catch(() => {});
  }

  private async run(): Promise<void> {
    if (await this.walkedAlready()) return;
    for (;;) {
      const first = await this.walk();
      if (this.stopped || first.failed > 0) return;
      // Values sealed before the rotation may still be on their way to the store: let them land,
      // then check the whole store once more before any KEK is forgotten.
      await this.keys.settleSeals();
      const movesBefore = this.moves;
      const check = await this.walk();
      if (this.stopped || check.failed > 0) return;
      if (check.rewrapped === 0 && check.stale === 0 && this.moves === movesBefore) {
        const current = this.keys.currentKeyId();
        const dropped = this.keys.keyIds().filter((id) => id !== current);
        await rewrapKeyringCheck(this.keys, this.store); // the check must still open once old KEKs go
        await this.keys.retain([current]);
        if (dropped.length > 0) this.log.info({ kek: current, dropped }, 'every data key is wrapped by the current key-encryption key; older keys removed');
        await this.store.markKeysWalked?.(current); // only once the older KEKs are gone
        return;
      }
    }
  }

  /** The store's last complete walk found the one KEK the provider holds: nothing to do. */
  private async walkedAlready(): Promise<boolean> {
    if (!this.store.keysWalked) return false;
    const current = this.keys.currentKeyId();
    const held = this.keys.keyIds();
    return held.length === 1 && held[0] === current && (await this.store.keysWalked()) === current;
  }

  /**
   * One pass over the store — the live secrets' current values, then every kept value (older
   * versions, removed secrets) — where `stale` counts values another writer changed under us.
   */
  private async walk(): Promise<{ rewrapped: number; failed: number; stale: number }> {
    const live = await this.walkLive();
    const kept = await this.walkKept();
    return { rewrapped: live.rewrapped + kept.rewrapped, failed: live.failed + kept.failed, stale: live.stale + kept.stale };
  }

  private async walkLive(): Promise<{ rewrapped: number; failed: number; stale: number }> {
    let after = '';
    let rewrapped = 0;
    let failed = 0;
    let stale = 0;
    for (;;) {
      if (this.stopped) break;
      const page = await this.store.sealedPage(after, BATCH);
      if (page.length === 0) break;
      const changes: SealedChange[] = [];
      for (const entry of page) {
        try {
          const to = await this.keys.rewrap(entry.sealed, sealContext(entry), legacySealContext(entry));
          if (to) changes.push({ id: entry.id, from: entry.sealed, to });
        } catch (e) {
          failed++;
          this.log.error({ secret: entry.id, err: (e as Error)?.name }, 'cannot re-wrap the data key of a secret: its value does not open');
        }
      }
      if (changes.length > 0) {
        const applied = await this.store.replaceSealed(changes);
        rewrapped += applied;
        stale += changes.length - applied;
      }
      this.status.rewrapped += changes.length;
      this.status.failed = failed;
      after = page.at(-1)!.id;
      await new Promise((r) => setImmediate(r)); // let requests in between pages
    }
    return { rewrapped, failed, stale };
  }

  private async walkKept(): Promise<{ rewrapped: number; failed: number; stale: number }> {
    let after: KeptValueCursor | undefined;
    const failedBefore = this.status.failed; // the live walk's
    let rewrapped = 0;
    let failed = 0;
    let stale = 0;
    for (;;) {
      if (this.stopped) break;
      const page = await this.store.keptValuesPage(after, BATCH);
      if (page.length === 0) break;
      const changes: KeptValueChange[] = [];
      for (const v of page) {
        const secret = { id: v.secretId, createdAt: v.secretCreatedAt };
        try {
          const to = await this.keys.rewrap(v.sealed, valueContext(secret, v.version), legacySealContext(secret));
          if (to) changes.push({ secretId: v.secretId, version: v.version, from: v.sealed, to });
        } catch (e) {
          failed++;
          this.log.error({ secret: v.secretId, version: v.version, err: (e as Error)?.name }, 'cannot re-wrap the data key of a kept value: it does not open');
        }
      }
      if (changes.length > 0) {
        const applied = await this.store.replaceKeptValues(changes);
        rewrapped += applied;
        stale += changes.length - applied;
      }
      this.status.rewrapped += changes.length;
      this.status.failed = failedBefore + failed;
      const last = page.at(-1)!;
      after = { secretId: last.secretId, version: last.version };
      await new Promise((r) => setImmediate(r));
    }
    return { rewrapped, failed, stale };
  }
}
