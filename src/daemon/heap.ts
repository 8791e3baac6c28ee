/**
 * How far V8 lets the daemon's heap grow between full collections. By default the old
 * generation may reach up to four times what survived the last one before the next; the daemon
 * keeps little from one request to the next (the SQLite store holds the secrets on disk), so
 * most of that headroom is garbage the resident size carries. Three times: after a fill of
 * 100,000 secrets and the reads of `npm run bench -- --scale 100000` (builds alternated, 3
 * pairs) 162, 128 and 159 MB became 124, 130 and 123, the fill 4380, 4397 and 4198 creates/s
 * 4351, 4286 and 4247; twice gave 117 and 122 MB but filled 5 % slower (docs/benchmark.md). A
 * growth given on node's own command line is left as it is.
 */
import { setFlagsFromString } from 'node:v8';

/** The V8 flag, which setFlagsFromString would ignore unnoticed were it unknown (its test runs it on node's command line). */
export const HEAP_GROWTH_FLAG = '--heap-growing-percent=200';

export function boundHeapGrowth(execArgv: readonly string[] = process.execArgv, set: (flags: string) => void = setFlagsFromString): void {
  if (execArgv.some((a) => /^--heap[-_]growing[-_]percent(=|$)/.test(a))) return;
  set(HEAP_GROWTH_FLAG);
}
