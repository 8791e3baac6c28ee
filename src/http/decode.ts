/**
 * Request documents for the routes: a JSON body (src/http/body.ts) decoded against its schema
 * in spec/ into the domain's types. Every failure here is a 400 worded as Engine 25 words it.
 */
import type { Context } from 'hono';
import { GoDecodeError, type SchemaRegistry } from '../schemas.ts';
import { Base64Error, decodeBase64 } from '../secrets/base64.ts';
import { InvalidRequest } from '../core/errors.ts';
import type { DriverRef, SecretSpecInput } from '../secrets/types.ts';
import type { Driver, StringMap } from '../spec-types/secret-spec.ts';
import type { SpecId, SpecTypes } from '../spec-types/index.ts';
import { readJsonBody } from './body.ts';
import type { EdgeEnv } from './env.ts';

/**
 * Reads the body and decodes it as schema `id`, typed as the schema describes it (null for no
 * body); `before` sees the canonical value first.
 */
export async function decodeBody<Id extends SpecId>(
  c: Context<EdgeEnv>,
  schemas: SchemaRegistry,
  id: Id,
  before?: (v: SpecTypes[Id]) => void,
): Promise<SpecTypes[Id] | null> {
  const body = await readJsonBody(c, true);
  if (body === undefined) return null;
  try {
    return schemas.decodeAs(id, body, before as ((v: unknown) => void) | undefined) as SpecTypes[Id];
  } catch (e) {
    if (e instanceof GoDecodeError || e instanceof Base64Error) throw new InvalidRequest(`invalid JSON: ${e.message}`);
    throw e;
  }
}

/** POST /secrets/create and /secrets/{id}/update bodies. */
export async function readSecretSpec(c: Context<EdgeEnv>, schemas: SchemaRegistry): Promise<SecretSpecInput> {
  let data: Uint8Array | undefined;
  // Go aborts on a bad base64 value at once but reports type mismatches only at the end.
  const doc = await decodeBody(c, schemas, 'secret-spec.json', (v) => {
    if (typeof v?.Data === 'string') data = decodeBase64(v.Data);
  });
  const spec: SecretSpecInput = {
    name: doc?.Name ?? '',
    labels: stringMap(doc?.Labels),
  };
  if (data && data.length > 0) spec.data = data;
  const driver = driverRef(doc?.Driver);
  if (driver) spec.driver = driver;
  const templating = driverRef(doc?.Templating);
  if (templating) spec.templating = templating;
  return spec;
}

/** A Go map[string]string: null is empty, null values are "". */
function stringMap(map: StringMap | undefined): Record<string, string> {
  if (!map) return {};
  // The decoded map is this request's own: kept as it is unless a null must become "" (copying
  // a map of 100,000 labels key by key costs seconds in V8).
  for (const k in map) {
    if (map[k] === null) return Object.fromEntries(Object.entries(map).map(([key, x]) => [key, x ?? '']));
  }
  return map as Record<string, string>;
}

/** A *swarm.Driver: absent when null; Name and Options omitted when empty, as Go prints it. */
function driverRef(d: Driver | undefined): DriverRef | undefined {
  if (!d) return undefined;
  const ref: DriverRef = { Name: d.Name ?? '' };
  const options = stringMap(d.Options);
  if (Object.keys(options).length > 0) ref.Options = options;
  return ref;
}
