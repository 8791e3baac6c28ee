/** The secret as the Engine API shows it, and as the domain passes it between layers. */
import type { DriverRef, SecretRecord } from '../store/records.ts';

export type { DriverRef, SecretRecord };

/** A validated request spec. `data` is decoded bytes; absent when the request carried none. */
export interface SecretSpecInput {
  name: string;
  labels: Record<string, string>;
  data?: Uint8Array;
  driver?: DriverRef;
  templating?: DriverRef;
}

/** The Engine API's `Secret` document. `Spec.Data` is never part of it. */
export interface SecretView {
  ID: string;
  Version: { Index: number };
  CreatedAt: string;
  UpdatedAt: string;
  Spec: {
    Name: string;
    Labels: Record<string, string>;
    Driver?: Partial<DriverRef>;
    Templating?: Partial<DriverRef>;
  };
}

export function toView(r: SecretRecord): SecretView {
  const spec: SecretView['Spec'] = { Name: r.name, Labels: r.labels };
  if (r.driver) spec.Driver = driverView(r.driver);
  if (r.templating) spec.Templating = driverView(r.templating);
  return { ID: r.id, Version: { Index: r.version }, CreatedAt: r.createdAt, UpdatedAt: r.updatedAt, Spec: spec };
}

/** Go omits an empty Name and empty Options: `{"Name":""}` shows as `{}`. */
function driverView(d: DriverRef): Partial<DriverRef> {
  const v: Partial<DriverRef> = {};
  if (d.Name) v.Name = d.Name;
  if (d.Options && Object.keys(d.Options).length > 0) v.Options = d.Options;
  return v;
}
