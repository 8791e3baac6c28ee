/** Generated from spec/secret-spec.json by `npm run gen:types` (tools/gen-spec-types.ts): edit the schema, not this file. */

/**
 * spec/secret-spec.json: Body of POST /secrets/create and POST /secrets/{id}/update, after keys are
 * matched to these property names case-insensitively (as Go's encoding/json does). null anywhere
 * means the zero value. x-go-type names the Go type dockerd decodes into, for its error messages;
 * x-go-pointer marks a field Go holds by pointer, which a repeated null clears.
 */
export type SecretSpec = {
  Name?: string | null;
  Labels?: StringMap;
  /** Base64 (standard or URL-safe alphabet, padded); decoded and size-checked by the secrets domain. */
  Data?: string | null;
  Driver?: Driver;
  Templating?: Driver;
} | null;

export type StringMap = { [key: string]: string | null } | null;

export type Driver = {
  Name?: string | null;
  Options?: StringMap;
} | null;

/** swarmkit's rule for object names: 1 to 64 of [a-zA-Z0-9-_.], alphanumeric at both ends. */
export type Name = string;
