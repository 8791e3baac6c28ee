/** Generated from spec/swarm-unlock.json by `npm run gen:types` (tools/gen-spec-types.ts): edit the schema, not this file. */

/** spec/swarm-unlock.json: Body of POST /swarm/unlock: the key `docker swarm unlock-key` printed (SWMKEY-1-…). */
export type UnlockRequest = {
  UnlockKey?: string | null;
} | null;
