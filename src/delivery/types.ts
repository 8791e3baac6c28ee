/** Consumer tokens and delivery requests: the secretd extension that hands values to workloads. */
import type { TemplateContext } from '../drivers/types.ts';
import type { DeliveryContext as WireContext } from '../spec-types/delivery-context.ts';

export type { TokenRecord } from '../store/records.ts';

/** The token as the API shows it: never the hash. */
export interface TokenView {
  ID: string;
  Allow: string[];
  Description: string;
  CreatedAt: string;
}

/** A reference from the task to another secret, for the template function `secret "target"` (spec/delivery-context.json). */
export type TaskSecretRef = NonNullable<WireContext['Secrets']>[number];

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
