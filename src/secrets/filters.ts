/**
 * `GET /secrets?filters=…`: both JSON encodings dockerd accepts, its key check, and the
 * matching rules (name, names and id select, OR-ed; every label must match on top). GET /nodes
 * decodes its filters and matches labels with the same code (src/swarm/node-filters.ts).
 */
import type { SchemaRegistry } from '../schemas.ts';
import type { SecretQuery } from '../store/types.ts';
import { InvalidRequest } from '../core/errors.ts';
import { hasMarkedKeys, keepingDuplicates, realKey } from '../core/json-duplicates.ts';
import type { SecretRecord } from './types.ts';

const SCHEMA = 'secret-list-query.json';

/** Filter key → values, in the order given. */
export type Filters = Map<string, string[]>;

/**
 * Parses the query value; anything but one of the two encodings is dockerd's "invalid filter".
 * `schema` is the endpoint's (GET /nodes has its own keys, with the same encodings). Go decodes
 * every occurrence of a repeated key: each must fit the encoding, and the last one is kept
 * (src/core/json-duplicates.ts marks the others, so the schema checks them as keys of their own).
 */
export function parseFilters(raw: string | undefined, schemas: SchemaRegistry, schema = SCHEMA): Filters {
  const filters: Filters = new Map();
  if (raw === undefined || raw === '') return filters;
  let doc: unknown;
  try {
    doc = keepingDuplicates(raw, JSON.parse(raw));
  } catch {
    throw new InvalidRequest('invalid filter');
  }
  if (!schemas.validator(schema)(doc)) throw new InvalidRequest('invalid filter');
  const marked = hasMarkedKeys(doc);
  for (const [key, value] of Object.entries((doc ?? {}) as Record<string, unknown>)) {
    const name = marked ? realKey(key) : key;
    filters.delete(name); // a repeated key: the last one counts, in its place
    if (value === null) filters.set(name, []);
    else if (Array.isArray(value))
      filters.set(
        name,
        (value as (string | null)[]).map((v) => v ?? ''),
      );
    else filters.set(name, marked ? [...new Set(Object.keys(value as object).map(realKey))] : Object.keys(value as object));
  }
  return filters;
}

/** dockerd checks the keys only after it knows the node is a manager. */
export function checkFilterKeys(filters: Filters, schemas: SchemaRegistry, schema = SCHEMA): void {
  const accepted = schemas.schema(schema)['x-keys'] as string[];
  for (const key of filters.keys()) if (!accepted.includes(key)) throw new InvalidRequest(`invalid filter '${key}'`);
}

export interface SecretSelection {
  query: SecretQuery;
  /** Label key → wanted value; "" means the key only has to be present. */
  labels: Map<string, string>;
}

/** moby's ConvertKVStringsToMap: `KEY=VALUE`, or `KEY` alone for "has the key" (value ""). */
export function labelFilter(values: readonly string[] = []): Map<string, string> {
  const labels = new Map<string, string>();
  for (const kv of values) {
    const eq = kv.indexOf('=');
    if (eq < 0) labels.set(kv, '');
    else labels.set(kv.slice(0, eq), kv.slice(eq + 1));
  }
  return labels;
}

export function toSelection(filters: Filters): SecretSelection {
  const labels = labelFilter(filters.get('label'));
  return {
    query: { names: filters.get('names'), namePrefixes: filters.get('name'), idPrefixes: filters.get('id') },
    labels,
  };
}

export function matchesLabels(secret: Pick<SecretRecord, 'labels'>, wanted: Map<string, string>): boolean {
  for (const [key, value] of wanted) {
    if (!Object.hasOwn(secret.labels, key)) return false;
    if (value !== '' && secret.labels[key] !== value) return false;
  }
  return true;
}
