/**
 * The tmpfs under a secretd volume: mounted with `mount -t tmpfs` (so values live in memory
 * only), sized for its files, filled, then remounted read-only before a container sees it; gone
 * with `umount`. Whether a folder is a mount point is read from /proc/self/mountinfo.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The filesystem source shown in `mount` and mountinfo for every secretd volume. */
export const TMPFS_SOURCE = 'secretd';
/** Room besides the values (tmpfs counts whole pages per file). */
const SLACK_BYTES = 64 * 1024;

export class TmpfsError extends Error {}

async function mountCommand(args: string[]): Promise<void> {
  try {
    await run(args[0] === 'umount' ? 'umount' : 'mount', args.slice(1), { timeout: 30_000 });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new TmpfsError(`${args[0]} failed: ${(err.stderr || err.message).trim().slice(0, 500)}`);
  }
}

/** A writable tmpfs on `dir` (mode 0755, no devices, no set-uid, nothing executable) of at least `bytes`. */
export function mountTmpfs(dir: string, bytes: number, files: number): Promise<void> {
  const size = Math.ceil((bytes + files * 4096 + SLACK_BYTES) / 1024);
  return mountCommand(['mount', '-t', 'tmpfs', '-o', `size=${size}k,mode=0755,nosuid,nodev,noexec`, TMPFS_SOURCE, dir]);
}

/** Once filled: nothing in a container can change or add a file. */
export function remountReadOnly(dir: string): Promise<void> {
  return mountCommand(['mount', '-o', 'remount,ro,nosuid,nodev,noexec', dir]);
}

export function unmount(dir: string): Promise<void> {
  return mountCommand(['umount', dir]);
}

/** True when a secretd tmpfs is mounted exactly on `dir` (an absolute, normalised path). */
export function isTmpfsMounted(dir: string): boolean {
  let text: string;
  try {
    text = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return false;
  }
  for (const line of text.split('\n')) {
    // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL…] - FSTYPE SOURCE SUPEROPTS
    const fields = line.split(' ');
    if (fields.length < 10 || unescape(fields[4]!) !== dir) continue;
    const dash = fields.indexOf('-', 6);
    if (dash > 0 && fields[dash + 1] === 'tmpfs' && fields[dash + 2] === TMPFS_SOURCE) return true;
  }
  return false;
}

/** mountinfo writes space, tab, newline and backslash as \ooo. */
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
}
