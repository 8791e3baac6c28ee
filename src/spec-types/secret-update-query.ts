/** Generated from spec/secret-update-query.json by `npm run gen:types` (tools/gen-spec-types.ts): edit the schema, not this file. */

/**
 * spec/secret-update-query.json: Query of POST /secrets/{id}/update: version is the Version.Index the client last saw, an unsigned 64-bit integer in decimal.
 */
export interface SecretUpdateQuery {
  version: string;
}
