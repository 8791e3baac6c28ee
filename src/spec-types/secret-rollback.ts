/** Generated from spec/secret-rollback.json by `npm run gen:types` (tools/gen-spec-types.ts): edit the schema, not this file. */

/** spec/secret-rollback.json: POST /_secretd/v1/secrets/{id}/versions/{version}/rollback (secretd extension): the version path parameter, in decimal. */
export type SecretRollbackPath = string;
