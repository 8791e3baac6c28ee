/**
 * A throwaway `pass` password store on its own GnuPG key (no passphrase), for the exec driver:
 * real gpg, real pass, nothing of the user's touched. `env` is what a process needs to read it.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commandMissing } from './tools.ts';

/** A skip reason, or false when pass, gpg and gpgconf are installed. */
export function passMissing(): string | false {
  return commandMissing(['pass', 'gpg', 'gpgconf'], 'pass gnupg');
}

export class PassStore {
  readonly dir: string;
  readonly env: { GNUPGHOME: string; PASSWORD_STORE_DIR: string };
  private constructor(dir: string, env: { GNUPGHOME: string; PASSWORD_STORE_DIR: string }) {
    this.dir = dir;
    this.env = env;
  }

  static create(): PassStore {
    const dir = mkdtempSync(join(tmpdir(), 'secretd-pass-'));
    const env = { GNUPGHOME: join(dir, 'gnupg'), PASSWORD_STORE_DIR: join(dir, 'store') };
    mkdirSync(env.GNUPGHOME, { mode: 0o700 });
    chmodSync(env.GNUPGHOME, 0o700);
    const store = new PassStore(dir, env);
    store.run('gpg', ['--batch', '--passphrase', '', '--quick-gen-key', 'secretd test <t@example.invalid>', 'default', 'default', 'never']);
    store.run('pass', ['init', 't@example.invalid']);
    return store;
  }

  insert(entry: string, value: string): void {
    this.run('pass', ['insert', '-m', entry], value);
  }

  /** Stops the store's gpg-agent and removes everything. */
  dispose(): void {
    spawnSync('gpgconf', ['--kill', 'gpg-agent'], { env: { ...process.env, ...this.env } });
    rmSync(this.dir, { recursive: true, force: true });
  }

  private run(cmd: string, args: string[], input?: string): void {
    const res = spawnSync(cmd, args, { env: { ...process.env, ...this.env }, input, encoding: 'utf8', timeout: 60_000 });
    if (res.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${res.status}): ${res.stderr}`);
  }
}
