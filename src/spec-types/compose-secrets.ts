/** Generated from spec/compose-secrets.json by `npm run gen:types` (tools/gen-spec-types.ts): edit the schema, not this file. */

/**
 * spec/compose-secrets.json: The part of a compose file `secretd stack deploy` reads: the top-level
 * `secrets:` section, shaped as the compose specification's `secret` definition (compose-spec
 * schema/compose-spec.json). Other top-level sections (services, networks…) are allowed and
 * ignored.
 */
export interface ComposeSecrets {
  /** Declared for backward compatibility; ignored. */
  version?: string | number;
  secrets?: { [key: string]: Secret } | null;
}

export type Secret = {
  /** The secret's name, used as is (not prefixed with the stack name). */
  name?: string;
  /** Name of an environment variable of the CLI whose value becomes the secret. */
  environment?: string;
  /** Path to the file holding the value; relative to the compose file's folder. */
  file?: string;
  /** The secret already exists and is not created; true, false, or (deprecated) {name}. */
  external?: boolean | string | {
    name?: string;
    [key: string]: unknown;
  };
  /** A mapping, or a list of KEY=VALUE strings. */
  labels?: { [key: string]: string | number | boolean | null } | string[];
  /** The secret driver that supplies the value; no file or environment then. */
  driver?: string;
  /** Options handed to the driver. */
  driver_opts?: { [key: string]: string | number };
  /** The templating driver that renders the value (golang). */
  template_driver?: string;
  [key: string]: unknown;
};
