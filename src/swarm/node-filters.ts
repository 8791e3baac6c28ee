/**
 * `GET /nodes?filters=…` as dockerd (moby's newListNodesFilters, swarmkit's ListNodes): keys
 * id, label, membership, name, node.label and role; values of one key are OR-ed, keys AND-ed.
 * name and id are prefixes of the hostname and the node ID, label matches the engine's labels,
 * node.label the node's own; role and membership take their enum names in any case.
 */
import type { SchemaRegistry } from '../schemas.ts';
import { InvalidRequest } from '../core/errors.ts';
import { checkFilterKeys, labelFilter, matchesLabels, type Filters } from '../secrets/filters.ts';

export const NODE_FILTERS_SCHEMA = 'node-list-query.json';

/** What the filters look at in a node. */
export interface NodeFacts {
  id: string;
  hostname: string;
  role: 'manager' | 'worker';
  membership: 'accepted' | 'pending';
  /** Description.Engine.Labels. */
  engineLabels: Record<string, string>;
  /** Spec.Labels. */
  labels: Record<string, string>;
}

/**
 * The keys, then each role and membership value, in dockerd's order; a predicate for the rest.
 * An empty role or membership value is skipped, as dockerd does. dockerd answers the bad values
 * with a 500; a client's mistake is a 400 here, with dockerd's words.
 */
export function nodeSelector(filters: Filters, schemas: SchemaRegistry): (node: NodeFacts) => boolean {
  checkFilterKeys(filters, schemas, NODE_FILTERS_SCHEMA);
  const roles = enumValues(filters.get('role'), ['manager', 'worker'], 'role');
  const memberships = enumValues(filters.get('membership'), ['accepted', 'pending'], 'membership');
  const names = filters.get('name') ?? [];
  const ids = filters.get('id') ?? [];
  const engineLabels = labelFilter(filters.get('label'));
  const nodeLabels = labelFilter(filters.get('node.label'));
  const anyPrefix = (value: string, prefixes: string[]) => prefixes.length === 0 || prefixes.some((p) => value.startsWith(p));
  return (n) =>
    anyPrefix(n.hostname, names) &&
    anyPrefix(n.id, ids) &&
    matchesLabels({ labels: n.engineLabels }, engineLabels) &&
    matchesLabels({ labels: n.labels }, nodeLabels) &&
    (roles.length === 0 || roles.includes(n.role)) &&
    (memberships.length === 0 || memberships.includes(n.membership));
}

/** Go's strings.ToUpper against the enum's names; "Invalid role filter: 'boss'" otherwise. */
function enumValues<T extends string>(values: readonly string[] = [], names: readonly T[], what: string): T[] {
  const out: T[] = [];
  for (const v of values) {
    const name = names.find((n) => n.toUpperCase() === v.toUpperCase());
    if (name) out.push(name);
    else if (v !== '') throw new InvalidRequest(`Invalid ${what} filter: '${v}'`);
  }
  return out;
}
