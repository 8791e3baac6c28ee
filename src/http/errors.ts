/**
 * The one place domain errors become HTTP: a status per error code and dockerd's
 * `{"message": …}` body. An error that is not ours is logged and answered with a generic 500,
 * so no unexpected text (which could hold anything) reaches a client.
 */
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { isSecretdError, type ErrorCode } from '../core/errors.ts';
import { json } from './respond.ts';

export const STATUS_BY_CODE: Record<ErrorCode, ContentfulStatusCode> = {
  invalid_argument: 400,
  invalid_request: 400,
  ambiguous: 400,
  not_found: 404,
  name_conflict: 409,
  out_of_sequence: 500, // dockerd answers swarmkit's plain store error with a 500
  driver_not_found: 500, // dockerd: rpc code Unknown
  plugin_unusable: 500, // dockerd: rpc code Unknown
  driver_failed: 502, // secretd extension (delivery): the external store failed, not the client
  template_failed: 422, // secretd extension (delivery): the stored template cannot be rendered
  unauthorized: 401,
  forbidden: 403,
  not_in_swarm: 503,
  already_in_swarm: 503,
  not_part_of_swarm: 503,
  manager_leave: 503,
  swarm_locked: 503,
  not_locked: 409,
  invalid_unlock_key: 401,
  unavailable: 503,
  startup_failed: 500, // never answered: raised before the daemon listens
};

export function errorResponse(c: Context, err: unknown, onUnexpected: (err: unknown) => void): Response {
  if (isSecretdError(err)) return json(c, { message: err.message }, STATUS_BY_CODE[err.code]);
  onUnexpected(err);
  return json(c, { message: 'internal error: see the daemon log' }, 500);
}

/** Unknown routes and wrong methods: 404 page not found, without the version headers. */
export function pageNotFound(): Response {
  return new Response('{"message":"page not found"}\n', { status: 404, headers: { 'Content-Type': 'application/json' } });
}
