/**
 * Starts a real secretd the way a user does (`npm start -- FLAGS`) on a fresh data root and a
 * unix socket, waits until it answers /_ping, and stops it gracefully or with SIGKILL.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request, type RawRequest, type RawResponse } from './http.ts';

export const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface DaemonOptions {
  /** Reuse a data root (to restart a daemon); default: a new temporary folder. */
  dataRoot?: string;
  /** More flags after `-H` and `--data-root`. */
  args?: string[];
  env?: NodeJS.ProcessEnv;
  /** How long to wait for /_ping, in ms (default 30000). */
  timeoutMs?: number;
}

export class Daemon {
  private output = '';
  private exited: Promise<number | null>;

  readonly proc: ChildProcess;
  readonly dir: string;
  readonly dataRoot: string;
  readonly socket: string;
  constructor(proc: ChildProcess, dir: string, dataRoot: string, socket: string) {
    this.proc = proc;
    this.dir = dir;
    this.dataRoot = dataRoot;
    this.socket = socket;
    proc.stdout?.on('data', (c: Buffer) => (this.output += c.toString()));
    proc.stderr?.on('data', (c: Buffer) => (this.output += c.toString()));
    this.exited = new Promise((resolve) => proc.on('exit', (code) => resolve(code)));
  }

  /** `unix:///…/secretd.sock`, for DOCKER_HOST. */
  get host(): string {
    return `unix://${this.socket}`;
  }

  /** Everything the daemon printed so far (stdout and stderr). */
  get logs(): string {
    return this.output;
  }

  request(req: RawRequest): Promise<RawResponse> {
    return request(this.host, req);
  }

  /** The daemon's own pid (npm and tsx are its parents), from the pid file in the data root. */
  get daemonPid(): number | undefined {
    try {
      return Number.parseInt(readFileSync(join(this.dataRoot, 'secretd.pid'), 'utf8'), 10) || undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * SIGTERM to the daemon alone, as an init system sends it; npm then exits with the daemon's
   * exit code, which this resolves with. Without a pid file, the whole process group.
   */
  stop(): Promise<number | null> {
    // A second stop waits for the first: signalling again could reach npm itself (the pid file is
    // gone once the daemon has cleaned up) and make it die of the signal instead of exiting 0.
    return (this.stopping ??= this.signalStop());
  }

  private stopping: Promise<number | null> | undefined;

  private async signalStop(): Promise<number | null> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return this.proc.exitCode;
    const pid = this.daemonPid;
    try {
      process.kill(pid ?? -this.proc.pid!, 'SIGTERM');
    } catch {
      process.kill(-this.proc.pid!, 'SIGTERM');
    }
    return this.exited;
  }

  /** SIGKILL to the whole process group: no chance to flush or clean up. */
  async kill9(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    process.kill(-this.proc.pid!, 'SIGKILL');
    await this.exited;
  }

  /** Stops the daemon and removes its temporary folder. */
  /**
   * Stops the daemon and removes its temporary folder. A daemon that has not exited 30 s after
   * SIGTERM is killed (and said so on stderr): a stuck stop must fail no run by hanging it.
   */
  async dispose(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const stuck = new Promise<'stuck'>((resolve) => (timer = setTimeout(() => resolve('stuck'), 30_000)));
    const outcome = await Promise.race([this.stop().catch(() => undefined), stuck]);
    clearTimeout(timer);
    if (outcome === 'stuck') {
      process.stderr.write(`# secretd on ${this.socket} did not stop within 30 s of SIGTERM; killed\n${this.logs.slice(-2000)}\n`);
      await this.kill9();
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export async function startDaemon(opts: DaemonOptions = {}): Promise<Daemon> {
  const dir = mkdtempSync(join(tmpdir(), 'secretd-test-'));
  const dataRoot = opts.dataRoot ?? join(dir, 'data');
  const socket = join(dir, 'secretd.sock');
  const proc = spawn('npm', ['start', '--silent', '--', '-H', `unix://${socket}`, '--data-root', dataRoot, ...(opts.args ?? [])], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...opts.env },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const daemon = new Daemon(proc, dir, dataRoot, socket);
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) {
      if (!opts.dataRoot) rmSync(dir, { recursive: true, force: true });
      throw new Error(`secretd exited with ${proc.exitCode} before answering:\n${daemon.logs}`);
    }
    try {
      const res = await daemon.request({ path: '/_ping' });
      if (res.status === 200) return daemon;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await daemon.kill9();
  if (!opts.dataRoot) rmSync(dir, { recursive: true, force: true });
  throw new Error(`secretd did not answer /_ping on ${socket} in time:\n${daemon.logs}`);
}

/**
 * Starts a daemon that is expected to refuse to start (`npm start` as a user does, on a socket in
 * a temporary folder); returns its exit status and stderr once it has exited.
 */
export function refusedStart(dataRoot: string, args: string[] = []): { status: number | null; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), 'secretd-refused-'));
  try {
    const r = spawnSync('npm', ['start', '--silent', '--', '-H', `unix://${join(dir, 's.sock')}`, '--data-root', dataRoot, '--log-level', 'warn', ...args], {
      cwd: PROJECT_ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    });
    return { status: r.status, stderr: r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
