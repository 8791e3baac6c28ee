/**
 * The tmpfs under a secretd volume: mounted with `mount -t tmpfs` (so values live in memory
 * only), sized for its files, filled, then remounted read-only before a container sees it;
 * writable again only while a refresh replaces files; gone with `umount`. Whether a folder is a mount point is read from /proc/self/mountinfo.
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
  return mountCommand(['mount', '-t', 'tmpfs', '-o', `size=${sizeKiB(bytes, files)}k,mode=0755,nosuid,nodev,noexec`, TMPFS_SOURCE, dir]);
}

function sizeKiB(bytes: number, files: number): number {
  return Math.ceil((bytes + files * 4096 + SLACK_BYTES) / 1024);
}

/** Once filled: nothing in a container can change or add a file. */
export function remountReadOnly(dir: string): Promise<void> {
  return mountCommand(['mount', '-o', 'remount,ro,nosuid,nodev,noexec', dir]);
}

export function unmount(dir: string): Promise<void> {
  return mountCommand(['umount', dir]);
}

/**
 * Back to writable for a refresh (src/plugin/volumes.ts), resized to hold `bytes` in `files`
 * (the new values and a temporary file beside the old ones).
 */
export function remountWritable(dir: string, bytes: number, files: number): Promise<void> {
  return mountCommand(['mount', '-o', `remount,rw,size=${sizeKiB(bytes, files)}k,nosuid,nodev,noexec`, dir]);
}

/** True when a secretd tmpfs is mounted exactly on `dir` (an absolute, normalised path). */
export function isTmpfsMounted(dir: string): boolean {
  return tmpfsState(dir) !== undefined;
}

/** Whether the secretd tmpfs on `dir` is read-only; undefined when none is mounted there. */
export function tmpfsReadOnly(dir: string): boolean | undefined {
  return tmpfsState(dir)?.readOnly;
}

function tmpfsState(dir: string): { readOnly: boolean } | undefined {
  const readOnly = tmpfsMounts().get(dir);
  return readOnly === undefined ? undefined : { readOnly };
}

/** Every folder a secretd tmpfs is mounted on now, and whether it is read-only: one read of mountinfo. */
export function tmpfsMounts(): Map<string, boolean> {
  const found = new Map<string, boolean>();
  let text: string;
  try {
    text = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return found;
  }
  for (const line of text.split('\n')) {
    // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL…] - FSTYPE SOURCE SUPEROPTS
    const fields = line.split(' ');
    if (fields.length < 10) continue;
    const dir = unescapeMountField(fields[4]!);
    const dash = fields.indexOf('-', 6);
    // The last mount on a folder is the one seen there.
    if (dash > 0 && fields[dash + 1] === 'tmpfs' && fields[dash + 2] === TMPFS_SOURCE) found.set(dir, (fields[dash + 3] ?? '').split(',').includes('ro'));
    else found.delete(dir);
  }
  return found;
}

/** mountinfo writes space, tab, newline and backslash as \ooo. */
function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
}
