/** Numbers for the benchmark: percentiles of one phase, medians across rounds, a text table. */

/** Nearest-rank percentile (p in 0..100) of latencies in ms; NaN for no samples. */
export function percentile(samples: Float64Array | number[], p: number): number {
  const n = samples.length;
  if (n === 0) return Number.NaN;
  const sorted = Float64Array.from(samples).sort();
  const rank = Math.min(n, Math.max(1, Math.ceil((p / 100) * n)));
  return sorted[rank - 1]!;
}

/** Median (mean of the middle two for an even count); NaN for no values. */
export function median(values: number[]): number {
  const n = values.length;
  if (n === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(n / 2);
  return n % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function geometricMean(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  return Math.exp(values.reduce((sum, v) => sum + Math.log(v), 0) / values.length);
}

/** Right-aligns every column but the first; `rule` rows become a dashed line. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, col) => Math.max(h.length, ...rows.map((r) => (r[col] ?? '').length)));
  const line = (cells: string[]) => cells.map((cell, col) => (col === 0 ? cell.padEnd(widths[col]!) : cell.padStart(widths[col]!))).join(' | ');
  const rule = widths.map((w) => '-'.repeat(w)).join('-|-');
  return [line(header), rule, ...rows.map(line)].join('\n');
}

export function fmtRate(opsPerSec: number | undefined): string {
  return opsPerSec === undefined || Number.isNaN(opsPerSec) ? '-' : opsPerSec.toFixed(0);
}

export function fmtMs(ms: number | undefined): string {
  return ms === undefined || Number.isNaN(ms) ? '-' : ms.toFixed(2);
}

export function fmtMicros(us: number | undefined): string {
  return us === undefined || Number.isNaN(us) ? '-' : us.toFixed(0);
}

export function fmtRatio(ratio: number | undefined): string {
  return ratio === undefined || Number.isNaN(ratio) ? '-' : ratio.toFixed(2);
}
