/**
 * The key provider contract: who holds the key-encryption keys (KEKs) that wrap each secret's
 * data key. The built-in provider is the key file (src/crypto/keyring.ts); `--kek-provider
 * MODULE` loads another one with the drivers' loading rules (src/crypto/load-provider.ts), for
 * example one that asks an external command or a KMS (drivers/examples/kek-command.ts).
 */

export interface KeyProvider {
  kind: 'key-provider';
  /** Shown in logs and in GET /_secretd/v1/keys; the same rule as a driver name. */
  name: string;
  /** Called once at start with the `--driver-opt NAME.KEY=VALUE` settings of this provider. */
  init?(settings: Record<string, string>): Promise<void> | void;
  /** The id of the KEK new data keys are wrapped with (1 to 255 ASCII characters). */
  currentKeyId(): string;
  /**
   * Wraps a 32-byte data key with the current KEK. `context` names the secret the data key
   * belongs to: a provider should bind the wrapped bytes to it (as AAD, or a KMS encryption
   * context), so a wrapped key moved to another record does not unwrap.
   */
  wrap(dataKey: Buffer, context: string): Promise<{ keyId: string; wrapped: Buffer }> | { keyId: string; wrapped: Buffer };
  /** The data key `wrap` wrapped with KEK `keyId` for this `context`; throws if it does not authenticate. */
  unwrap(keyId: string, wrapped: Buffer, context: string): Promise<Buffer> | Buffer;
  /** Makes a new KEK current (kept with the old ones). Without it, the provider cannot rotate. */
  rotate?(): Promise<void> | void;
  /** Every KEK except these may be forgotten: no data key is wrapped with them any more. */
  retain?(keyIds: string[]): Promise<void> | void;
  /** Every KEK id the provider still holds, current included. */
  keyIds?(): string[];
  close?(): Promise<void> | void;
}
