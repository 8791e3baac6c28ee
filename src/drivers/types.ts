/**
 * The driver plugin contract, as far as the core needs it: a secret whose spec names a
 * `Driver` is accepted only when a driver of that name is loaded. Issue 3 extends this file
 * with `get`, templating drivers and the Docker plugin protocol.
 */

export interface SecretDriver {
  /** The name a SecretSpec's `Driver.Name` refers to. */
  readonly name: string;
  /**
   * Called at create with `Driver.Options`; throw to refuse the secret (a 400 with your
   * message). Optional.
   */
  validate?(options: Record<string, string>): void | Promise<void>;
}
