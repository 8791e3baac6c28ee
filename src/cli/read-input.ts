/**
 * Reading a secret's value from a file or stdin as the docker CLI does: at most twice Swarm's
 * 500 KiB limit (the daemon enforces the real one), empty input refused, and file errors worded
 * as Go's os package words them ("open x: no such file or directory").
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { MAX_SECRET_SIZE } from '../drivers/kit.ts';
import { Failure } from './usage.ts';

/** Swarm's MaxSecretSize; we read up to twice that, like the docker CLI, as a safeguard only. */
const READ_LIMIT = 2 * MAX_SECRET_SIZE;

/** Node's error codes in Go's words (syscall.Errno strings). */
const GO_ERRNO: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EISDIR: 'is a directory',
  ENOTDIR: 'not a directory',
  ELOOP: 'too many levels of symbolic links',
};

/** "open PATH: no such file or directory", as Go's os.Open error prints. */
export function goFileError(op: 'open' | 'read', path: string, e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code ?? '';
  return `${op} ${path}: ${GO_ERRNO[code] ?? (e as Error).message}`;
}

/** Reads a whole file descriptor, or the first READ_LIMIT bytes of it. */
function readLimited(fd: number): Buffer {
  const chunks: Buffer[] = [];
  let total = 0;
  while (total < READ_LIMIT) {
    const chunk = Buffer.alloc(Math.min(64 * 1024, READ_LIMIT - total));
    const n = readSync(fd, chunk, 0, chunk.length, null);
    if (n === 0) break;
    chunks.push(chunk.subarray(0, n));
    total += n;
  }
  return Buffer.concat(chunks);
}

/** Stdin up to READ_LIMIT bytes (streamed: stdin may be a pipe, a file or a terminal). */
async function readStdin(stdin: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stdin) {
    const c = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
    chunks.push(c.subarray(0, READ_LIMIT - total));
    total += Math.min(c.length, READ_LIMIT - total);
    if (total >= READ_LIMIT) break;
  }
  return Buffer.concat(chunks);
}

/** The bytes of FILE, or of stdin for "-"; throws the docker CLI's message on failure. */
export async function readSecretInput(file: string, stdin: NodeJS.ReadableStream = process.stdin): Promise<Buffer> {
  const label = file === '-' ? 'STDIN' : file;
  let data: Buffer;
  if (file === '-') {
    try {
      data = await readStdin(stdin);
    } catch (e) {
      throw new Failure(`error reading from STDIN: ${(e as Error).message}`);
    }
  } else {
    let fd: number;
    try {
      fd = openSync(file, 'r');
    } catch (e) {
      throw new Failure(`error reading from ${file}: ${goFileError('open', file, e)}`);
    }
    try {
      data = readLimited(fd);
    } catch (e) {
      throw new Failure(`error reading from ${file}: ${goFileError('read', file, e)}`);
    } finally {
      closeSync(fd);
    }
  }
  if (data.length === 0) throw new Failure(`error reading from ${label}: data is empty`);
  return data;
}
