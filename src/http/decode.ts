/**
 * Request documents for the routes: a JSON body (src/http/body.ts) decoded against its schema
 * in spec/ into the domain's types. Every failure here is a 400 worded as Engine 25 words it.
 */
import type { Context } from 'hono';
import { GoDecodeError, type SchemaRegistry } from '../schemas.ts';
import { Base64Error, decodeBase64 } from '../secrets/base64.ts';
import { InvalidRequest } from '../core/errors.ts';
import type { DriverRef, SecretSpecInput } from '../secrets/types.ts';
import { readJsonBody } from './body.ts';
import type { EdgeEnv } from './env.ts';

type Wire = Record<string, unknown> | null;

/** Reads the body and decodes it as schema `id`; `before` sees the canonical value first. */
export async function decodeBody(c: Context<EdgeEnv>, schemas: SchemaRegistry, id: string, before?: (v: Wire) => void): Promise<Wire> {
  const body = await readJsonBody(c);
  if (body === undefined) return null;
  try {
    return schemas.decodeAs(id, body, before) as Wire;
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
    name: (doc?.Name as string | null) ?? '',
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
function stringMap(v: unknown): Record<string, string> {
  if (!v) return {};
  const map = v as Record<string, string | null>;
  // The decoded map is this request's own: kept as it is unless a null must become "" (copying
  // a map of 100,000 labels key by key costs seconds in V8).
  for (const k in map) {
    if (map[k] === null) return Object.fromEntries(Object.entries(map).map(([key, x]) => [key, x ?? '']));
  }
  return map as Record<string, string>;
}

/** A *swarm.Driver: absent when null; Name and Options omitted when empty, as Go prints it. */
function driverRef(v: unknown): DriverRef | undefined {
  if (!v) return undefined;
  const d = v as { Name?: string | null; Options?: unknown };
  const ref: DriverRef = { Name: d.Name ?? '' };
  const options = stringMap(d.Options);
  if (Object.keys(options).length > 0) ref.Options = options;
  return ref;
}
