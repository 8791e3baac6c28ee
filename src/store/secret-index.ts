/**
 * Secrets' metadata in memory, indexed for every criterion of a SecretQuery: IDs (sorted, for
 * ID prefixes and ID order), lower-cased names (exact and sorted, for names and name prefixes)
 * and labels (key → value → IDs). The etcd store's watch-fed cache keeps one (etcd-cache.ts);
 * it holds no sealed values. A query costs what it matches, not what is stored: criteria lists
 * are walked once (a list of a thousand names is a thousand lookups), label criteria start from
 * their smallest posting set.
 *
 * Records handed out are frozen, labels included: callers share them and must copy to change.
 */
import type { SecretRecord } from './records.ts';
import { SortedStrings } from './sorted-strings.ts';
import type { SecretQuery } from './types.ts';

export class SecretIndex {
  private readonly records = new Map<string, SecretRecord>();
  private readonly ids = new SortedStrings();
  /** lower(name) → ID: names are unique regardless of case. */
  private readonly names = new Map<string, string>();
  private readonly sortedNames = new SortedStrings();
  /** Label key → value → IDs. */
  private readonly labels = new Map<string, Map<string, Set<string>>>();

  get size(): number {
    return this.records.size;
  }

  get(id: string): SecretRecord | undefined {
    return this.records.get(id);
  }

  /** Stores `r` (without its sealed value), replacing any record with its ID. */
  put(r: SecretRecord): void {
    this.remove(r.id);
    const { sealed: _, ...meta } = r;
    Object.freeze(meta.labels);
    const record = Object.freeze(meta) as SecretRecord;
    this.records.set(r.id, record);
    this.ids.add(r.id);
    const lower = r.name.toLowerCase();
    this.names.set(lower, r.id);
    this.sortedNames.add(lower);
    for (const [key, value] of Object.entries(r.labels)) {
      let values = this.labels.get(key);
      if (!values) this.labels.set(key, (values = new Map()));
      let ids = values.get(value);
      if (!ids) values.set(value, (ids = new Set()));
      ids.add(r.id);
    }
  }

  remove(id: string): void {
    const r = this.records.get(id);
    if (!r) return;
    this.records.delete(id);
    this.ids.delete(id);
    const lower = r.name.toLowerCase();
    // Only the entry that still names this secret: another may have taken the name since.
    if (this.names.get(lower) === id) {
      this.names.delete(lower);
      this.sortedNames.delete(lower);
    }
    for (const [key, value] of Object.entries(r.labels)) {
      const values = this.labels.get(key);
      const ids = values?.get(value);
      if (!values || !ids) continue;
      ids.delete(id);
      if (ids.size === 0) values.delete(value);
      if (values.size === 0) this.labels.delete(key);
    }
  }

  clear(): void {
    this.records.clear();
    this.ids.clear();
    this.names.clear();
    this.sortedNames.clear();
    this.labels.clear();
  }

  /** The secrets matching `q` (see SecretQuery), in ascending ID order. */
  find(q: SecretQuery): SecretRecord[] {
    const names = q.names ?? [];
    const namePrefixes = q.namePrefixes ?? [];
    const idPrefixes = q.idPrefixes ?? [];
    const labels: ReadonlyMap<string, string> = q.labels ?? new Map();
    const selects = names.length + namePrefixes.length + idPrefixes.length > 0;

    if (!selects && labels.size === 0) return [...this.ids.withPrefix('')].map((id) => this.records.get(id)!);
    let candidates: Iterable<string>;
    if (selects) {
      const ids = new Set<string>();
      for (const n of names) {
        const id = this.names.get(n.toLowerCase());
        if (id !== undefined) ids.add(id);
      }
      for (const p of new Set(namePrefixes.map((x) => x.toLowerCase()))) {
        for (const lower of this.sortedNames.withPrefix(p)) ids.add(this.names.get(lower)!);
      }
      for (const p of new Set(idPrefixes)) for (const id of this.ids.withPrefix(p)) ids.add(id);
      candidates = ids;
    } else {
      candidates = this.smallestLabelSet(labels);
    }
    const out: SecretRecord[] = [];
    for (const id of candidates) {
      const r = this.records.get(id);
      if (r && labelsMatch(r, labels)) out.push(r);
    }
    return out.sort(byId);
  }

  /** The IDs of the label criterion that matches the fewest secrets. */
  private smallestLabelSet(wanted: ReadonlyMap<string, string>): Iterable<string> {
    let best: Iterable<string> = [];
    let bestSize = Infinity;
    for (const [key, value] of wanted) {
      const values = this.labels.get(key);
      if (!values) return [];
      if (value !== '') {
        const ids = values.get(value);
        if (!ids) return [];
        if (ids.size < bestSize) [best, bestSize] = [ids, ids.size];
      } else {
        let size = 0;
        for (const ids of values.values()) size += ids.size;
        if (size < bestSize) [best, bestSize] = [unionOf(values.values()), size];
      }
    }
    return best;
  }
}

function* unionOf(sets: Iterable<Set<string>>): Generator<string> {
  for (const s of sets) yield* s;
}

/** Every wanted label is there; a wanted value of "" only asks for the key. */
export function labelsMatch(r: SecretRecord, wanted: ReadonlyMap<string, string>): boolean {
  for (const [key, value] of wanted) {
    if (!Object.hasOwn(r.labels, key)) return false;
    if (value !== '' && r.labels[key] !== value) return false;
  }
  return true;
}

const byId = (a: SecretRecord, b: SecretRecord) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
