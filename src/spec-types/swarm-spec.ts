/** Generated from spec/swarm-spec.json by `npm run gen:types` (tools/gen-spec-types.ts): edit the schema, not this file. */

/**
 * spec/swarm-spec.json: Body of POST /swarm/update: the whole swarm Spec. secretd keeps Labels and
 * EncryptionConfig.AutoLockManagers; the other fields are accepted and shown with their fixed
 * values.
 */
export type Spec = {
  Name?: string | null;
  Labels?: { [key: string]: string | null } | null;
  EncryptionConfig?: {
    AutoLockManagers?: boolean | null;
  } | null;
} | null;
