/**
 * A sorted set of strings with prefix scans, for the etcd store's in-memory indexes (IDs and
 * lower-cased names). Kept as a list of sorted chunks of bounded length, so an insert or a
 * delete moves at most one chunk's worth of entries (O(log n + CHUNK)) instead of the whole set,
 * and a prefix scan costs O(log n + matches). Strings compare as JavaScript compares them
 * (UTF-16 code units): every prefix's matches are one contiguous run in that order.
 */

/** A chunk splits in two once it holds more than this many strings. */
const CHUNK = 512;

export class SortedStrings {
  private chunks: string[][] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Adds `s`; false if it was there already. */
  add(s: string): boolean {
    if (this.chunks.length === 0) {
      this.chunks.push([s]);
      this.count = 1;
      return true;
    }
    // The first chunk whose last string is >= s, else the last chunk (s goes at its end).
    const c = Math.min(this.chunkFor(s), this.chunks.length - 1);
    const chunk = this.chunks[c]!;
    const i = lowerBound(chunk, s);
    if (chunk[i] === s) return false;
    chunk.splice(i, 0, s);
    this.count++;
    if (chunk.length > CHUNK) this.chunks.splice(c + 1, 0, chunk.splice(chunk.length >> 1));
    return true;
  }

  /** Removes `s`; false if it was not there. */
  delete(s: string): boolean {
    const c = this.chunkFor(s);
    const chunk = this.chunks[c];
    if (!chunk) return false;
    const i = lowerBound(chunk, s);
    if (chunk[i] !== s) return false;
    chunk.splice(i, 1);
    this.count--;
    if (chunk.length === 0) this.chunks.splice(c, 1);
    return true;
  }

  /** Every string that starts with `prefix`, in ascending order ('' gives all of them). */
  *withPrefix(prefix: string): Generator<string> {
    for (let c = this.chunkFor(prefix), i = -1; c < this.chunks.length; c++) {
      const chunk = this.chunks[c]!;
      for (i = i < 0 ? lowerBound(chunk, prefix) : 0; i < chunk.length; i++) {
        const s = chunk[i]!;
        if (!s.startsWith(prefix)) return;
        yield s;
      }
    }
  }

  clear(): void {
    this.chunks = [];
    this.count = 0;
  }

  /** The index of the first chunk whose last string is >= s (chunks.length if none). */
  private chunkFor(s: string): number {
    let lo = 0;
    let hi = this.chunks.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const chunk = this.chunks[mid]!;
      if (chunk[chunk.length - 1]! < s) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** The first index in sorted `list` whose string is >= s. */
function lowerBound(list: string[], s: string): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid]! < s) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
