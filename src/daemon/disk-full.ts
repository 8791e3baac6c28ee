/** A full disk met at start, worded as a StartRefused (src/core/errors.ts) that names the flag. */
import { StartRefused } from '../core/errors.ts';

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
