/** Generated from spec/delivery-context.json by `npm run gen:types` (tools/gen-spec-types.ts): edit the schema, not this file. */

/**
 * spec/delivery-context.json: POST /_secretd/v1/secrets/{id}/value (secretd extension): the task a
 * value is for. Every field is optional; it feeds a driver's GetSecret request and templating.
 */
export interface DeliveryContext {
  Service?: {
    ID?: Text;
    Name?: Text;
    Labels?: Labels;
    Hostname?: Text;
  };
  Node?: {
    ID?: Text;
    Hostname?: Text;
    Platform?: {
      OS?: Text;
      Architecture?: Text;
    };
  };
  Task?: {
    ID?: Text;
    Name?: Text;
    Slot?: Text;
    Image?: Text;
  };
  /** The task's environment, KEY=VALUE entries as in a container spec (for the template function env). */
  Env?: string[];
  /** The other secrets the task references, for the template function secret "TARGET". */
  Secrets?: {
    /** The secret's ID or name. */
    Secret: Text;
    /** The file name the task sees it under (swarmkit matches secret "x" against this). */
    Target: Text;
  }[];
}

export type Text = string;

export type Labels = { [key: string]: string };
