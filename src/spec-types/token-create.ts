/** Generated from spec/token-create.json by `npm run gen:types` (tools/gen-spec-types.ts): edit the schema, not this file. */

/** spec/token-create.json: POST /_secretd/v1/tokens (secretd extension): a consumer token scoped to secret-name patterns. */
export interface TokenCreateRequest {
  /** Secret-name patterns the token may read; `*` matches any run of characters. */
  Allow: string[];
  Description?: string;
}
