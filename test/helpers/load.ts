/**
 * Creates secrets from several writers until a daemon is killed, for the kill -9 tests: the kill
 * comes once a number of creates are acknowledged (a condition, not a fixed sleep that a slow
 * machine may fill with nothing), and the test then checks that none of them was lost.
 */
import type { Daemon } from './daemon.ts';

export interface LoadOptions {
  /** Concurrent writers (default 8). */
  writers?: number;
  /** Kill once this many creates are acknowledged (default 200). */
  acknowledged?: number;
  /** Fail if that many are not acknowledged within this many ms (default 60000). */
  deadlineMs?: number;
  /** The name of writer `w`'s `i`-th secret. */
  name: (w: number, i: number) => string;
}

/** Runs the writers, SIGKILLs the daemon once enough creates are acknowledged, returns their IDs. */
export async function killUnderLoad(daemon: Daemon, opts: LoadOptions): Promise<string[]> {
  const { writers = 8, acknowledged = 200, deadlineMs = 60_000, name } = opts;
  const acked: string[] = [];
  let stop = false;
  let enough!: () => void;
  const reached = new Promise<void>((resolve) => (enough = resolve));
  const running = Array.from({ length: writers }, async (_, w) => {
    for (let i = 0; !stop; i++) {
      try {
        const res = await daemon.request({ method: 'POST', path: '/secrets/create', body: { Name: name(w, i), Data: 'eA==' } });
        if (res.status === 201) acked.push(res.json.ID);
        if (acked.length >= acknowledged) enough();
      } catch {
        return; // the daemon is gone
      }
    }
  });
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), deadlineMs)));
  const outcome = await Promise.race([reached.then(() => 'reached' as const), late]);
  clearTimeout(timer);
  await daemon.kill9();
  stop = true;
  await Promise.all(running);
  if (outcome === 'late') throw new Error(`only ${acked.length} of ${acknowledged} creates were acknowledged within ${deadlineMs} ms`);
  return acked;
}
