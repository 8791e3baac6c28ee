/** Generated from spec/node-list-query.json by `npm run gen:types` (tools/gen-spec-types.ts): edit the schema, not this file. */
import type { SecretListFilters } from './secret-list-query.ts';

/**
 * spec/node-list-query.json: The JSON in GET /nodes?filters=…: the same two encodings as GET
 * /secrets (secret-list-query.json). The keys dockerd accepts for nodes are checked afterwards,
 * after the 503 of a node out of swarm; role takes manager or worker, membership accepted or
 * pending (any case).
 */
export type NodeListFilters = SecretListFilters;
