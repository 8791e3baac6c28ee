/**
 * A parsed JSON body checked against its schema in spec/ (secretd's own endpoints; the Engine
 * routes decode as Go does instead, src/http/decode.ts). The first error, worded as a 400.
 */
import type { SchemaRegistry } from '../schemas.ts';
import type { SpecId, SpecTypes } from '../spec-types/index.ts';
import { InvalidRequest } from '../core/errors.ts';

/** The value, typed as schema `id` describes it (src/spec-types, generated from spec/). */
export function checkedBody<Id extends SpecId>(schemas: SchemaRegistry, id: Id, value: unknown): SpecTypes[Id] {
  const validate = schemas.validator(id);
  if (!validate(value)) {
    const e = validate.errors?.[0];
    throw new InvalidRequest(`invalid request body: ${e?.instancePath || '/'} ${e?.message ?? 'is not valid'}`);
  }
  return value as SpecTypes[Id];
}
