/** Generated from spec/swarm-init.json by `npm run gen:types` (tools/gen-spec-types.ts): edit the schema, not this file. */

/** spec/swarm-init.json: Body of POST /swarm/init. secretd has no overlay network: the addresses are recorded and shown, not bound. */
export type InitRequest = {
  ListenAddr?: string | null;
  AdvertiseAddr?: string | null;
  DataPathAddr?: string | null;
  DataPathPort?: number | null;
  ForceNewCluster?: boolean | null;
  AutoLockManagers?: boolean | null;
  Availability?: string | null;
  DefaultAddrPool?: string[] | null;
  SubnetSize?: number | null;
  Spec?: {
    Name?: string | null;
    Labels?: { [key: string]: string | null } | null;
  } | null;
} | null;
