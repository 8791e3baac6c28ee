/** Generated from spec/plugin-volume.json by `npm run gen:types` (tools/gen-spec-types.ts): edit the schema, not this file. */

/**
 * spec/plugin-volume.json: The bodies dockerd sends to /VolumeDriver.* on the --plugin-listen
 * socket (moby docs/extend/plugins_volume.md). Create carries Opts (the volume-opt / driver_opts
 * map); Mount and Unmount carry the caller's ID; List and Capabilities send an empty object.
 */
export type VolumeDriverRequest = unknown;

export type Name = string;

export type Create = {
  Name: Name;
  Opts?: { [key: string]: string } | null;
};

export type Named = {
  Name: Name;
  ID?: string;
};

export type Empty = { [key: string]: unknown };
