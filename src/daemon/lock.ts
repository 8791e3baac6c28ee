/**
 * One daemon per data root: `secretd.pid` is created atomically (link(2) fails if it exists).
 * A pid file left by a dead daemon (kill -9) is taken over; a live one stops the start-up.
 */
import { linkSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const PID_FILE = 'secretd.pid';

export class DataRootBusy extends Error {}

export function lockDataRoot(dataRoot: string): () => void {
  const file = join(dataRoot, PID_FILE);
  const tmp = `${file}.${process.pid}`;
  writeFileSync(tmp, `${process.pid}\n`, { mode: 0o644 });
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        linkSync(tmp, file);
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw e;
        const other = Number.parseInt(readText(file), 10);
        if (isRunningSecretd(other)) {
          throw new DataRootBusy(`another secretd (pid ${other}) is using the data root ${dataRoot}; stop it first, or use another --data-root`);
        }
        try {
          unlinkSync(file); // stale: its daemon is gone
        } catch {
          // someone else removed it first
        }
      }
    }
  } finally {
    unlinkSync(tmp);
  }
  return () => {
    try {
      if (Number.parseInt(readText(file), 10) === process.pid) unlinkSync(file);
    } catch {
      // already gone
    }
  };
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function isRunningSecretd(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A killed daemon may linger as a zombie until reaped (state Z), and a recycled pid belongs
  // to something else: trust the pid only if it is alive and looks like us.
  const stat = readText(`/proc/${pid}/stat`);
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  if (state === 'Z' || state === 'X') return false;
  const cmdline = readText(`/proc/${pid}/cmdline`);
  return stat === '' || /secretd|main\.ts/.test(cmdline);
}
