/**
 * Starts the benchmark's two ceiling servers (test/bench/ceiling-server.ts) as processes of
 * their own, each on a unix socket in a temporary folder, so they never share the benchmark
 * client's event loop; `stop()` ends them and removes the folder.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SERVER = fileURLToPath(new URL('./ceiling-server.ts', import.meta.url));

export interface Ceiling {
  /** `unix:///…/ceiling.sock`. */
  host: string;
  stop(): Promise<void>;
}

/** A bare ceiling, or with `durable` the one that fdatasyncs each batch of writes to a file. */
export async function startCeiling(durable: boolean, timeoutMs = 30_000): Promise<Ceiling> {
  const dir = mkdtempSync(join(tmpdir(), 'secretd-ceiling-'));
  const socket = join(dir, 'ceiling.sock');
  const args = ['--import', 'tsx', SERVER, socket, ...(durable ? ['--durable', join(dir, 'journal')] : [])];
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const stop = async () => {
    if (proc.exitCode === null) proc.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  let out = '';
  const ready = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    proc.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('listening')) {
        clearTimeout(timer);
        resolve(true);
      }
    });
    proc.once('exit', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
  if (!ready) {
    await stop();
    throw new Error(`the ${durable ? 'bare+fdatasync' : 'bare'} ceiling server did not start within ${timeoutMs} ms`);
  }
  return { host: `unix://${socket}`, stop };
}
