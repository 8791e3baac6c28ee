/** Generated from spec/secret-rotate.json by `npm run gen:types` (tools/gen-spec-types.ts): edit the schema, not this file. */

/**
 * spec/secret-rotate.json: POST /_secretd/v1/secrets/{id}/versions (secretd extension): the next
 * version of a secret's value, given (Data) or generated (Generate); exactly one of the two.
 */
export interface SecretRotateRequest {
  /** The new value, standard base64 (as the Engine API's SecretSpec.Data): 1 to 511999 bytes once decoded. */
  Data?: string;
  /** A random value: Length characters drawn from the Classes (default all four), each class at least once. */
  Generate?: {
    Length: number;
    Classes?: ('upper' | 'lower' | 'digits' | 'symbols')[];
  };
}
