/**
 * Output the way the docker CLI prints it: ages as go-units' HumanDuration words, names in
 * natural order, and tables laid out as Go's tabwriter does (minimum cell 10, padding 3).
 */

/** go-units HumanDuration: "Less than a second", "About a minute", "3 hours", "2 weeks"… */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.trunc(seconds / 60);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.trunc(ms / 3_600_000 + 0.5);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.trunc(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.trunc(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24 / 30)} months`;
  return `${Math.trunc(ms / 3_600_000 / 24 / 365)} years`;
}

/** "3 minutes ago", from an RFC 3339 timestamp as the Engine API gives it. */
export function ago(timestamp: string, now = Date.now()): string {
  return `${humanDuration(now - Date.parse(timestamp))} ago`;
}

/** Natural order (digit runs compare as numbers), as the docker CLI sorts `secret ls`. */
export function naturalLess(a: string, b: string): number {
  const split = (s: string) => s.match(/\d+|\D+/g) ?? [];
  const x = split(a);
  const y = split(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const p = x[i]!;
    const q = y[i]!;
    if (p === q) continue;
    if (/^\d/.test(p) && /^\d/.test(q)) {
      const d = Number(p) - Number(q);
      if (d !== 0) return d;
      return p.length - q.length;
    }
    return p < q ? -1 : 1;
  }
  return x.length - y.length;
}

/** Rows as tabwriter(minwidth 10, padding 3) lays them out; the last column is not padded. */
export function table(rows: string[][]): string {
  const columns = Math.max(0, ...rows.map((r) => r.length));
  const widths = Array.from({ length: columns - 1 }, (_, i) => Math.max(10, ...rows.map((r) => (r[i] ?? '').length + 3)));
  return rows.map((r) => r.map((cell, i) => (i < columns - 1 ? cell.padEnd(widths[i]!) : cell)).join('') + '\n').join('');
}
