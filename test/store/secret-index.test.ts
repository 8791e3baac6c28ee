/**
 * The etcd cache's in-memory indexes against the plain definitions: SortedStrings against a
 * sorted array under random adds, deletes and prefix scans (past chunk splits), and
 * SecretIndex.find against filtering every record by the SecretQuery rules; plus queries with a
 * thousand names and a thousand ID prefixes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { SecretRecord } from '../../src/secrets/types.ts';
import { labelsMatch, SecretIndex } from '../../src/store/secret-index.ts';
import { SortedStrings } from '../../src/store/sorted-strings.ts';
import type { SecretQuery } from '../../src/store/types.ts';

const short = fc.string({ unit: fc.constantFrom('a', 'b', 'c', 'A', '_'), maxLength: 4 });

test('SortedStrings keeps the order and the prefix runs of a sorted array, across chunk splits', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.boolean(), fc.string({ unit: fc.constantFrom('a', 'b', 'c', 'd'), maxLength: 6 })), { maxLength: 3000 }),
      short,
      (ops, prefix) => {
        const set = new SortedStrings();
        const model = new Set<string>();
        for (const [add, s] of ops) {
          assert.equal(add ? set.add(s) : set.delete(s), add ? !model.has(s) : model.has(s));
          if (add) model.add(s);
          else model.delete(s);
        }
        const sorted = [...model].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
        assert.equal(set.size, model.size);
        assert.deepEqual([...set.withPrefix('')], sorted);
        assert.deepEqual(
          [...set.withPrefix(prefix.toLowerCase())],
          sorted.filter((s) => s.startsWith(prefix.toLowerCase())),
        );
      },
    ),
    { numRuns: 60 },
  );
});

const record = (id: string, name: string, labels: Record<string, string>): SecretRecord => ({ id, name, labels, version: 1, createdAt: 't', updatedAt: 't' });

/** SecretQuery by its definition: OR of the selecting criteria (none: all), AND the labels. */
function naive(records: SecretRecord[], q: SecretQuery): SecretRecord[] {
  const selects = (q.names?.length ?? 0) + (q.namePrefixes?.length ?? 0) + (q.idPrefixes?.length ?? 0) > 0;
  return records
    .filter((r) => {
      const lower = r.name.toLowerCase();
      const selected =
        !selects ||
        (q.names ?? []).some((n) => n.toLowerCase() === lower) ||
        (q.namePrefixes ?? []).some((p) => lower.startsWith(p.toLowerCase())) ||
        (q.idPrefixes ?? []).some((p) => r.id.startsWith(p));
      return selected && labelsMatch(r, q.labels ?? new Map());
    })
    .sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
}

test('SecretIndex.find answers what filtering every record answers, after puts and removes', () => {
  const labelPair = fc.tuple(fc.constantFrom('team', 'env', '__proto__', ''), fc.constantFrom('', 'x', 'y'));
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.tuple(short, short, fc.array(labelPair, { maxLength: 3 })), { selector: ([, name]) => name.toLowerCase(), maxLength: 40 }),
      fc.array(fc.nat(), { maxLength: 10 }),
      fc.record({
        names: fc.array(short, { maxLength: 3 }),
        namePrefixes: fc.array(short, { maxLength: 2 }),
        idPrefixes: fc.array(short, { maxLength: 2 }),
        labels: fc.array(labelPair, { maxLength: 2 }),
      }),
      (rows, removals, q) => {
        const index = new SecretIndex();
        const records = rows.map(([idTail, name, labels], i) => record(`${i.toString(36)}${idTail}`, name, Object.fromEntries(labels)));
        for (const r of records) index.put(r);
        const kept = records.filter((_, i) => !removals.includes(i));
        for (const i of removals) if (records[i]) index.remove(records[i].id);
        const query: SecretQuery = { ...q, labels: new Map(q.labels) };
        assert.deepEqual(index.find(query), naive(kept, query));
      },
    ),
    { numRuns: 300 },
  );
});

test('SecretIndex.find with 1000 names and 1000 ID prefixes over 20,000 secrets', () => {
  const index = new SecretIndex();
  const records = Array.from({ length: 20_000 }, (_, i) => record(`id${String(i).padStart(6, '0')}`, `name-${i}`, { team: `t${i % 100}` }));
  for (const r of records) index.put(r);
  const q: SecretQuery = {
    names: Array.from({ length: 1000 }, (_, i) => `NAME-${i * 7}`),
    idPrefixes: Array.from({ length: 1000 }, (_, i) => `id0${String(i * 3).padStart(4, '0')}`),
    labels: new Map([['team', 't7']]),
  };
  const found = index.find(q);
  assert.ok(found.length > 0);
  assert.deepEqual(found, naive(records, q));
});
