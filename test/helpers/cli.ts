/**
 * Runs `secretd …` as a user does from the checkout (`npx secretd …` runs the same file), or the
 * docker CLI, against a given DOCKER_HOST, with a scratch DOCKER_CONFIG; and the two daemons the
 * client e2e tests run every scenario against: a fresh secretd and the reference dockerd.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT, startDaemon, type Daemon } from './daemon.ts';
import { dockerCliMissing, referenceDockerd } from './tools.ts';

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

const dockerConfig = mkdtempSync(join(tmpdir(), 'secretd-cli-config-'));

export interface RunOptions {
  input?: string | Buffer;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

function run(cmd: string, args: string[], host: string, opts: RunOptions = {}): Run {
  const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_HOST: host, DOCKER_CONFIG: dockerConfig, ...opts.env };
  for (const name of ['DOCKER_CONTEXT', 'DOCKER_API_VERSION', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH']) delete env[name];
  const res = spawnSync(cmd, args, { env, input: opts.input ?? '', encoding: 'utf8', timeout: 60_000, cwd: opts.cwd ?? PROJECT_ROOT });
  assert.equal(res.error, undefined, `could not run ${cmd}: ${String(res.error)}`);
  return { status: res.status, stdout: res.stdout, stderr: res.stderr };
}

export const secretd = (host: string, args: string[], opts?: RunOptions) => run(process.execPath, [join(PROJECT_ROOT, 'bin/secretd.mjs'), ...args], host, opts);
export const docker = (host: string, args: string[], opts?: RunOptions) => run('docker', args, host, opts);

/** Asserts exit 0 and returns stdout, showing everything useful when it is not. */
export function ok(r: Run, what: string): string {
  assert.equal(r.status, 0, `${what} exited ${r.status}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r.stdout;
}

/** A daemon to point the CLI at: its DOCKER_HOST and how to let it go. */
export interface Target {
  host: string;
  close(): Promise<void>;
  /** Only for secretd: its logs, for failure messages. */
  daemon?: Daemon;
}

export const TARGETS: { name: string; skip: string | false; open(): Promise<Target> }[] = [
  {
    name: 'secretd',
    skip: false,
    async open() {
      const daemon = await startDaemon();
      return { host: daemon.host, daemon, close: () => daemon.dispose() };
    },
  },
  {
    name: 'the reference dockerd',
    skip: (() => {
      const ref = referenceDockerd();
      return 'skip' in ref ? ref.skip : dockerCliMissing();
    })(),
    async open() {
      const ref = referenceDockerd();
      if ('skip' in ref) throw new Error(ref.skip);
      return { host: ref.host, close: async () => {} };
    },
  },
];

let prefixes = 0;
/**
 * A name no other test (or earlier run) on the shared reference dockerd uses: random bytes, not
 * the clock (two targets asking in the same millisecond once got the same prefix), plus a counter.
 */
export function uniquePrefix(what: string): string {
  return `${what}_${randomBytes(4).toString('hex')}${(prefixes++).toString(36)}`;
}
