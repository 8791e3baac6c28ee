/**
 * The daemon's keys: seals and opens secret values (src/crypto/envelope.ts) through the key
 * provider, opens format-1 values of older data roots, and owns autolock — while locked there
 * is no provider, and nothing can be sealed or opened until `unlock` gets the right key.
 */
import { existsSync } from 'node:fs';
import { InvalidRequest, NotLocked, SwarmLocked } from '../core/errors.ts';
import { formatUnlockKey, newUnlockKey } from './autolock.ts';
import { EnvelopeError, formatOf, LEGACY_FORMAT, newDataKey, openEnvelope, parseEnvelope, rewrapEnvelope, sealEnvelope } from './envelope.ts';
import { Keyring, LockedKeyFile } from './keyring.ts';
import { open as openLegacy, sealedKeyId } from './legacy-envelope.ts';
import type { KeyProvider } from './types.ts';

export interface KeysOptions {
  /** The key file (the built-in provider's, or the format-1 keys of an older data root). */
  file: string;
  /** A `--kek-provider` module, already initialised; absent for the key file. */
  provider?: KeyProvider;
  /** Several daemons share the store: one daemon alone must not change the keys. */
  shared?: boolean;
}

/** Thrown by seal/open while the daemon is locked (callers check `locked` first; if one does not, the client sees the locked answer). */
export class KeysLocked extends SwarmLocked {}

export class KeyService {
  private provider: KeyProvider | undefined;
  private keyring: Keyring | undefined;
  private lockedFile: LockedKeyFile | undefined;
  private readonly sealing = new Set<Promise<unknown>>();
  private readonly unlockListeners: (() => void)[] = [];

  private readonly opts: KeysOptions;
  constructor(opts: KeysOptions) {
    this.opts = opts;
    if (opts.provider) {
      this.provider = opts.provider;
      // A data root written before --kek-provider may hold format-1 values sealed by its key file.
      const legacy = existsSync(opts.file) ? Keyring.load(opts.file) : undefined;
      if (legacy instanceof Keyring) this.keyring = legacy;
      return;
    }
    const loaded = Keyring.load(opts.file);
    if (loaded instanceof LockedKeyFile) this.lockedFile = loaded;
    else this.provider = this.keyring = loaded;
  }

  get providerName(): string {
    return this.opts.provider?.name ?? 'file';
  }

  get locked(): boolean {
    return this.lockedFile !== undefined;
  }

  /** Autolock is on: the key file is stored encrypted under the unlock key. */
  get autolock(): boolean {
    return this.locked || (!this.opts.provider && this.keyring?.unlockKey !== undefined);
  }

  /** Why autolock cannot be turned on here, if it cannot. */
  autolockRefusal(): string | undefined {
    if (this.opts.provider) return `autolock protects the built-in key file; the KEKs are held by the key provider ${this.opts.provider.name}`;
    if (this.opts.shared) return 'autolock is not supported on a shared store (--store etcd://): each daemon holds its own copy of the key file';
    return undefined;
  }

  /** Throws MalformedUnlockKey or WrongUnlockKey; the daemon stays locked then. */
  unlock(unlockKeyText: string): void {
    if (!this.lockedFile) throw new NotLocked();
    this.provider = this.keyring = this.lockedFile.unlock(unlockKeyText);
    this.lockedFile = undefined;
    for (const fn of this.unlockListeners) fn();
  }

  onUnlock(fn: () => void): void {
    this.unlockListeners.push(fn);
  }

  /** `SWMKEY-1-…` while autolock is on, else "". */
  unlockKeyText(): string {
    const key = this.keyring?.unlockKey;
    return key && !this.opts.provider ? formatUnlockKey(key) : '';
  }

  /** Turns autolock on (a new unlock key) or off (the key file in the clear again, mode 0600). */
  setAutolock(on: boolean): void {
    if (on === this.autolock) return;
    this.fileKeyring().setUnlockKey(on ? newUnlockKey() : undefined);
  }

  /** A new unlock key; a no-op while autolock is off (as swarmkit). */
  rotateUnlockKey(): void {
    if (this.autolock) this.fileKeyring().setUnlockKey(newUnlockKey());
  }

  /** After leaving the swarm nothing is sealed any more: a locked key file is replaced by a new one. */
  resetAfterLeave(): void {
    if (this.opts.provider) return;
    if (this.lockedFile || this.keyring?.unlockKey) {
      this.provider = this.keyring = Keyring.createFresh(this.opts.file);
      this.lockedFile = undefined;
    }
  }

  /** Seals a value under a new data key wrapped by the current KEK. */
  async seal(plaintext: Uint8Array, context: string): Promise<Buffer> {
    const provider = this.unlocked();
    const dataKey = newDataKey();
    const { keyId, wrapped } = await provider.wrap(dataKey, context);
    return sealEnvelope(dataKey, keyId, Buffer.from(wrapped), plaintext, context);
  }

  /**
   * Seals, then runs `write` with the sealed value. A rotation waits for such writes before it
   * forgets old KEKs, so a value sealed just before a rotation is never left unopenable.
   */
  async sealThen<T>(plaintext: Uint8Array, context: string, write: (sealed: Buffer) => Promise<T>): Promise<T> {
    const run = this.seal(plaintext, context).then(write);
    this.sealing.add(run);
    const done = () => this.sealing.delete(run);
    run.then(done, done);
    return run;
  }

  /** Opens a value of format 2, or of format 1 (sealed under `legacyContext` by a key of the key file). */
  async open(sealed: Uint8Array, context: string, legacyContext = context): Promise<Buffer> {
    const provider = this.unlocked();
    if (formatOf(sealed) === LEGACY_FORMAT) {
      const key = this.keyring?.legacyKey(sealedKeyId(sealed));
      if (!key) throw new EnvelopeError('sealed (format 1) with a key the key file does not hold');
      return openLegacy(key, sealed, legacyContext);
    }
    const envelope = parseEnvelope(sealed);
    const dataKey = await provider.unwrap(envelope.kekId, envelope.wrappedKey, context);
    return openEnvelope(Buffer.from(dataKey), envelope, context);
  }

  /**
   * The value as the current KEK would have sealed it, or undefined when it already is: format 1
   * is re-sealed (open, new data key), format 2 under an older KEK is re-wrapped (the data
   * ciphertext unchanged).
   */
  async rewrap(sealed: Uint8Array, context: string, legacyContext: string): Promise<Buffer | undefined> {
    const provider = this.unlocked();
    if (formatOf(sealed) === LEGACY_FORMAT) return this.seal(await this.open(sealed, context, legacyContext), context);
    const envelope = parseEnvelope(sealed);
    if (envelope.kekId === provider.currentKeyId()) return undefined;
    const dataKey = Buffer.from(await provider.unwrap(envelope.kekId, envelope.wrappedKey, context));
    const { keyId, wrapped } = await provider.wrap(dataKey, context);
    dataKey.fill(0);
    return rewrapEnvelope(envelope, keyId, Buffer.from(wrapped));
  }

  /** The KEK id a sealed value depends on (`legacy:<id>` for format 1). */
  kekIdOf(sealed: Uint8Array): string {
    return formatOf(sealed) === LEGACY_FORMAT ? `legacy:${sealedKeyId(sealed)}` : parseEnvelope(sealed).kekId;
  }

  currentKeyId(): string {
    return this.unlocked().currentKeyId();
  }

  /** Every KEK the provider still holds (just the current one when it cannot tell). */
  keyIds(): string[] {
    const p = this.unlocked();
    return p.keyIds?.() ?? [p.currentKeyId()];
  }

  /** Why the KEK cannot rotate here, if it cannot. */
  rotationRefusal(): string | undefined {
    if (this.opts.shared && !this.opts.provider)
      return 'the key file cannot be rotated by one daemon of a shared store (--store etcd://): every daemon holds a copy';
    const p = this.provider;
    if (p && !p.rotate) return `the key provider ${p.name} cannot rotate`;
    return undefined;
  }

  /** A new current KEK, durable before any data key uses it. */
  async rotateKek(): Promise<void> {
    const p = this.unlocked();
    if (!p.rotate) throw new InvalidRequest(`the key provider ${p.name} cannot rotate`);
    await p.rotate();
  }

  /** Waits for every seal-and-write that started before this call. */
  async settleSeals(): Promise<void> {
    await Promise.allSettled([...this.sealing]);
  }

  /** Lets the provider forget every KEK but these (and the current one). */
  async retain(keyIds: string[]): Promise<void> {
    await this.unlocked().retain?.(keyIds);
  }

  async close(): Promise<void> {
    await this.opts.provider?.close?.();
  }

  private unlocked(): KeyProvider {
    if (!this.provider) throw new KeysLocked();
    return this.provider;
  }

  private fileKeyring(): Keyring {
    const refusal = this.autolockRefusal();
    if (refusal) throw new InvalidRequest(refusal);
    if (!this.keyring) throw new KeysLocked();
    return this.keyring;
  }
}
