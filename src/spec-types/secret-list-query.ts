/** Generated from spec/secret-list-query.json by `npm run gen:types` (tools/gen-spec-types.ts): edit the schema, not this file. */

/**
 * spec/secret-list-query.json: The JSON in GET /secrets?filters=…, in either encoding dockerd
 * accepts: the current map of value → bool (the bool is ignored), or the legacy map of value lists
 * (what docker-py sends). null values decode as Go zero values (false, empty string). Which keys
 * are allowed is checked afterwards, as dockerd does, so the 503 of a node out of swarm comes
 * first.
 */
export type SecretListFilters = { [key: string]: { [key: string]: boolean | null } | null } | null | { [key: string]: (string | null)[] | null };
