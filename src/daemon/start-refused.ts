/**
 * A start-up that stops on purpose: the keys do not match the store, the store holds less than
 * was acknowledged, the data root is in use, the disk is full. The message is one line that
 * names the file or flag and the fix; the daemon prints it as is (no stack) and exits non-zero.
 */
import { StartupError } from '../secrets/errors.ts';

export class StartRefused extends StartupError {}

const DISK_FULL = new Set(['ENOSPC', 'EDQUOT', 'SQLITE_FULL']);

/** A full disk (or quota) met at start, as one line naming `where` (the flag and its folder); anything else unchanged. */
export function diskFullAtStart(e: unknown, where: string): unknown {
  for (let c = e, depth = 0; typeof c === 'object' && c !== null && depth < 4; c = (c as { cause?: unknown }).cause, depth++) {
    const code = (c as { code?: unknown }).code;
    if (typeof code === 'string' && DISK_FULL.has(code)) {
      return new StartRefused(`${where}: the disk holding it is full (${code}): free some space, then start again`, { cause: e });
    }
  }
  return e;
}
