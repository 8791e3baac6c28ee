/**
 * Timestamps as Go prints time.Time in JSON: RFC 3339 in UTC with up to nine fraction digits,
 * trailing zeros trimmed. Nanoseconds come from the monotonic clock anchored to the wall clock
 * once, so two writes in one millisecond still get distinct, ordered times.
 */
const anchorNs = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();

export function nowNs(): bigint {
  return anchorNs + process.hrtime.bigint();
}

export function rfc3339Nano(ns: bigint = nowNs()): string {
  const ms = ns / 1_000_000n;
  const iso = new Date(Number(ms)).toISOString(); // 2026-11-23T08:05:12.859Z
  const fraction = (ns % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '');
  return `${iso.slice(0, 19)}${fraction ? `.${fraction}` : ''}Z`;
}
