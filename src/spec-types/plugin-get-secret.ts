/** Generated from spec/plugin-get-secret.json by `npm run gen:types` (tools/gen-spec-types.ts): edit the schema, not this file. */

/**
 * spec/plugin-get-secret.json: POST /SecretProvider.GetSecret on the --plugin-listen socket: what
 * swarmkit sends when it assigns a task using a secret whose driver is this plugin. Fields Go
 * leaves empty are absent; fields a later swarmkit adds are ignored.
 */
export interface SecretsProviderRequest {
  SecretName: string;
  SecretLabels?: Labels;
  ServiceHostname?: Text;
  ServiceID?: Text;
  ServiceName?: Text;
  ServiceLabels?: Labels;
  TaskID?: Text;
  TaskName?: Text;
  TaskImage?: Text;
  NodeID?: Text;
  ServiceEndpointSpec?: { [key: string]: unknown };
}

export type Text = string;

export type Labels = { [key: string]: string };
