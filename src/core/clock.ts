/**
 * Timestamps as Go prints time.Time in JSON: RFC 3339 in UTC with up to nine fraction digits,
 * trailing zeros trimmed. Nanoseconds come from the monotonic clock anchored to the wall clock
 * once, so two writes in one millisecond still get distinct, ordered times. The current time is
 * kept as whole milliseconds and the nanoseconds within one (both exact in a Number), not as a
 * BigInt: a write takes two or three timestamps, and BigInt arithmetic was a visible part of it.
 */
const WALL_MS = Date.now();
const [S0, N0] = process.hrtime();

/** Now: whole milliseconds since the epoch, and nanoseconds within that millisecond. */
function now(): [ms: number, ns: number] {
  const [s, n] = process.hrtime();
  let seconds = s - S0;
  let nanos = n - N0;
  if (nanos < 0) {
    seconds -= 1;
    nanos += 1e9;
  }
  return [WALL_MS + seconds * 1000 + Math.floor(nanos / 1e6), nanos % 1e6];
}

export function nowNs(): bigint {
  const [ms, ns] = now();
  return BigInt(ms) * 1_000_000n + BigInt(ns);
}

/** The date and time to the second of the last second formatted: most calls share it. */
let lastSecond = Number.NaN;
let lastPrefix = '';

function format(ms: number, ns: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== lastSecond) {
    lastPrefix = new Date(second * 1000).toISOString().slice(0, 19); // 2026-11-23T08:05:12
    lastSecond = second;
  }
  const fraction = (ms - second * 1000) * 1e6 + ns;
  if (fraction === 0) return `${lastPrefix}Z`;
  return `${lastPrefix}.${String(fraction).padStart(9, '0').replace(/0+$/, '')}Z`;
}

export function rfc3339Nano(ns?: bigint): string {
  if (ns === undefined) return format(...now());
  return format(Number(ns / 1_000_000n), Number(ns % 1_000_000n));
}
