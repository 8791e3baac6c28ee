/** Consumer tokens and delivery requests: the secretd extension that hands values to workloads. */
import type { TemplateContext } from '../drivers/types.ts';

/**
 * A consumer token as stored. The token a consumer holds is `sdt_<id>_<secret>`; only a SHA-256
 * of the secret part is kept, so a copy of the store cannot be used to read values.
 */
export interface TokenRecord {
  id: string;
  /** Hex SHA-256 of the token's secret part. */
  hash: string;
  /** Name patterns (`*` matches any run of characters) the token may read; at least one. */
  allow: string[];
  /** What the administrator said it is for; free text, shown by `token ls`. */
  description: string;
  createdAt: string;
}

/** The token as the API shows it: never the hash. */
export interface TokenView {
  ID: string;
  Allow: string[];
  Description: string;
  CreatedAt: string;
}

/** A reference from the task to another secret, for the template function `secret "target"`. */
export interface TaskSecretRef {
  /** The secret's ID or name. */
  Secret: string;
  /** The file name the task sees it under (swarmkit matches `secret "x"` against this). */
  Target: string;
}

/** What a consumer says about the task it wants a value for (every field optional). */
export interface DeliveryContext {
  service: TemplateContext['Service'] & { Hostname?: string };
  node: TemplateContext['Node'];
  task: TemplateContext['Task'] & { Image?: string };
  /** The task's environment, `KEY=VALUE` entries as in a container spec. */
  env: string[];
  /** The other secrets the task references, for `secret "target"` in templates. */
  secrets: TaskSecretRef[];
}
