/**
 * A SecretQuery reduced to what it selects, before a store runs it: names and name prefixes
 * lower-cased (both compare regardless of case), duplicates dropped, and every criterion that a
 * shorter prefix already covers dropped (`app` covers `app.db` and the name `app.x`). What is
 * left selects disjoint ranges, so a store can run one indexed lookup per criterion and the
 * rows it reads are at most one per secret per kind of criterion, however long the filter list.
 */
import type { SecretQuery } from './types.ts';

export interface CompactQuery {
  names: string[];
  namePrefixes: string[];
  idPrefixes: string[];
  /** No criteria at all: every secret. */
  all: boolean;
}

export function compactQuery(q: SecretQuery): CompactQuery {
  const names = q.names ?? [];
  const namePrefixes = q.namePrefixes ?? [];
  const idPrefixes = q.idPrefixes ?? [];
  const all = names.length + namePrefixes.length + idPrefixes.length === 0;
  const prefixes = minimalPrefixes(namePrefixes.map((p) => p.toLowerCase()));
  const covered = (name: string) => {
    const i = lastAtMost(prefixes, name);
    return i >= 0 && name.startsWith(prefixes[i]!);
  };
  return {
    names: [...new Set(names.map((n) => n.toLowerCase()))].filter((n) => !covered(n)),
    namePrefixes: prefixes,
    idPrefixes: minimalPrefixes(idPrefixes),
    all,
  };
}

/** Sorted, without duplicates and without any prefix that another one in the list starts. */
function minimalPrefixes(prefixes: string[]): string[] {
  const sorted = [...new Set(prefixes)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const out: string[] = [];
  // In sorted order, every string that starts with p follows p directly.
  for (const p of sorted) if (out.length === 0 || !p.startsWith(out[out.length - 1]!)) out.push(p);
  return out;
}

/** Index of the greatest element of sorted `xs` that is <= `x` (-1 if none): binary search. */
function lastAtMost(xs: string[], x: string): number {
  let lo = 0;
  let hi = xs.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid]! <= x) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}
