/**
 * GET /nodes?filters=… cases, written against the node each side has (its own hostname and
 * ID), so one table runs against secretd in-process and, live, against a reference dockerd.
 * `count` is how many nodes a one-node swarm answers; an error case names the status and
 * message dockerd gives, and `target` what secretd answers instead where Engine 25 or the
 * house rule (no 500 for a client's mistake) differ from the reference dockerd 20.10.
 */

export interface NodeFilterCase {
  title: string;
  /** The query value; {host} is the node's hostname, {h1} its first character, {id} its ID. */
  filters: string;
  count?: number;
  error?: { status: number; message: string };
  /** secretd's answer where it deviates from dockerd 20.10 on purpose. */
  target?: { status: number; message: string };
}

const INVALID = { status: 400, message: 'invalid filter' };

export const NODE_FILTER_CASES: NodeFilterCase[] = [
  { title: 'no filters', filters: '', count: 1 },
  { title: 'empty filters', filters: '{}', count: 1 },
  { title: 'null filters', filters: 'null', count: 1 },
  { title: 'name: a prefix of the hostname', filters: '{"name":["{h1}"]}', count: 1 },
  { title: 'name: the whole hostname', filters: '{"name":["{host}"]}', count: 1 },
  { title: 'name: longer than the hostname', filters: '{"name":["{host}-not"]}', count: 0 },
  { title: 'name: values are OR-ed', filters: '{"name":["zz-none","{h1}"]}', count: 1 },
  { title: 'name: the map encoding (the bool is ignored)', filters: '{"name":{"{h1}":false}}', count: 1 },
  { title: 'name: an empty value matches every node', filters: '{"name":[""]}', count: 1 },
  { title: 'name: null in a list is the empty value', filters: '{"name":[null]}', count: 1 },
  { title: 'id: a prefix of the ID', filters: '{"id":["{id5}"]}', count: 1 },
  { title: 'id: the whole ID', filters: '{"id":["{id}"]}', count: 1 },
  { title: 'id: case matters', filters: '{"id":["{ID}"]}', count: 0 },
  { title: 'keys are AND-ed', filters: '{"name":["{h1}"],"id":["zz-none"]}', count: 0 },
  { title: 'role manager', filters: '{"role":["manager"]}', count: 1 },
  { title: 'role worker', filters: '{"role":["worker"]}', count: 0 },
  { title: 'role in any case', filters: '{"role":["Manager"]}', count: 1 },
  { title: 'role values are OR-ed', filters: '{"role":["worker","manager"]}', count: 1 },
  { title: 'an empty role is skipped', filters: '{"role":[""]}', count: 1 },
  { title: 'membership accepted', filters: '{"membership":["accepted"]}', count: 1 },
  { title: 'membership pending', filters: '{"membership":["pending"]}', count: 0 },
  { title: 'membership in any case', filters: '{"membership":["ACCEPTED"]}', count: 1 },
  { title: 'label: an engine label nobody has', filters: '{"label":["secretd-test-none"]}', count: 0 },
  { title: 'label: the empty key', filters: '{"label":[""]}', count: 0 },
  { title: 'node.label: a node label nobody has', filters: '{"node.label":["secretd-test-none=x"]}', count: 0 },
  { title: 'node.label: the empty key', filters: '{"node.label":[""]}', count: 0 },
  {
    title: 'an unknown key',
    filters: '{"bogus":["x"]}',
    error: { status: 400, message: "Invalid filter 'bogus'" },
    // Engine 25 words it in lower case, as for GET /secrets (the conformance case list-filter-unknown-key).
    target: { status: 400, message: "invalid filter 'bogus'" },
  },
  {
    title: 'keys are case-sensitive',
    filters: '{"ID":["x"]}',
    error: { status: 400, message: "Invalid filter 'ID'" },
    target: { status: 400, message: "invalid filter 'ID'" },
  },
  {
    title: 'an unknown key next to a known one',
    filters: '{"name":["x"],"bogus":["y"]}',
    error: { status: 400, message: "Invalid filter 'bogus'" },
    target: { status: 400, message: "invalid filter 'bogus'" },
  },
  {
    title: 'an unknown role',
    filters: '{"role":["boss"]}',
    error: { status: 500, message: "Invalid role filter: 'boss'" },
    target: { status: 400, message: "Invalid role filter: 'boss'" },
  },
  {
    title: 'an unknown role, map encoding',
    filters: '{"role":{"boss":true}}',
    error: { status: 500, message: "Invalid role filter: 'boss'" },
    target: { status: 400, message: "Invalid role filter: 'boss'" },
  },
  {
    title: 'an unknown membership',
    filters: '{"membership":["x"]}',
    error: { status: 500, message: "Invalid membership filter: 'x'" },
    target: { status: 400, message: "Invalid membership filter: 'x'" },
  },
  {
    title: 'filters that are not JSON',
    filters: '{bad',
    error: { status: 500, message: "invalid character 'b' looking for beginning of object key string" },
    target: INVALID,
  },
  {
    title: 'filters that are a list',
    filters: '[]',
    error: { status: 500, message: 'json: cannot unmarshal array into Go value of type map[string]map[string]bool' },
    target: INVALID,
  },
  {
    title: 'a filter value that is a string',
    filters: '{"name":"x"}',
    error: { status: 500, message: 'json: cannot unmarshal string into Go value of type map[string]bool' },
    target: INVALID,
  },
];

/** The case's filters for a node with this hostname and ID. */
export function filtersFor(c: NodeFilterCase, node: { hostname: string; id: string }): string {
  return c.filters
    .replaceAll('{host}', node.hostname)
    .replaceAll('{h1}', node.hostname.slice(0, 1))
    .replaceAll('{id5}', node.id.slice(0, 5))
    .replaceAll('{id}', node.id)
    .replaceAll('{ID}', node.id.toUpperCase());
}

/** What secretd must answer. */
export function targetAnswer(c: NodeFilterCase): { status: number; message?: string; count?: number } {
  if (c.target) return c.target;
  if (c.error) return c.error;
  return { status: 200, count: c.count };
}
