/**
 * The audit edge: every mutating request (secret create/update/remove, swarm init/leave, token
 * create/revoke) becomes one audit record — caller, action, secret, result, status — on disk
 * before the answer leaves. Routes name the secret they acted on with `noteSecret`; the body,
 * the query string and any value or token never reach a record. Deliveries are recorded by the
 * DeliveryService, which knows the token and the secret.
 */
import type { Context, MiddlewareHandler } from 'hono';
import type { AuditAction, AuditEvent } from '../audit/events.ts';
import type { AuditLog } from '../audit/log.ts';
import { isSecretdError } from '../secrets/errors.ts';
import { routedPath } from './api-version.ts';
import { callerOf } from './caller.ts';

/** Method, routed path and the action it is; a capture group is the path's secret or token reference. */
const MUTATIONS: readonly [method: string, path: RegExp, action: AuditAction][] = [
  ['POST', /^\/secrets\/create$/, 'secret.create'],
  ['POST', /^\/secrets\/([^/]+)\/update$/, 'secret.update'],
  ['DELETE', /^\/secrets\/([^/]+)$/, 'secret.remove'],
  ['POST', /^\/swarm\/init$/, 'swarm.init'],
  ['POST', /^\/swarm\/leave$/, 'swarm.leave'],
  ['POST', /^\/_secretd\/v1\/tokens$/, 'token.create'],
  ['DELETE', /^\/_secretd\/v1\/tokens\/([^/]+)$/, 'token.revoke'],
];

type Notes = { secret?: { id?: string; name?: string; ref?: string }; token?: string };
const notes = new WeakMap<Request, Notes>();

/** A route says which secret it acted on (the created ID, the resolved name). */
export function noteSecret(c: Context, secret: { id?: string; name?: string }): void {
  const n = notes.get(c.req.raw) ?? {};
  n.secret = { ...n.secret, ...secret };
  notes.set(c.req.raw, n);
}

/** A route says which consumer token it acted on (its public ID). */
export function noteToken(c: Context, id: string): void {
  notes.set(c.req.raw, { ...notes.get(c.req.raw), token: id });
}

export function auditMiddleware(audit: AuditLog): MiddlewareHandler {
  return async (c, next) => {
    const match = mutationOf(c.req.method, c.req.url);
    if (!match) return next();
    await next();
    const note = notes.get(c.req.raw) ?? {};
    const event: AuditEvent = { who: callerOf(c), action: match.action, result: resultOf(c), status: c.res.status };
    if (match.action.startsWith('secret.')) {
      const secret = { ...note.secret };
      if (match.ref !== undefined && secret.id === undefined) secret.ref = match.ref; // unresolved: as the client named it
      if (Object.keys(secret).length > 0) event.secret = secret;
    }
    const token = note.token ?? (match.action === 'token.revoke' ? match.ref : undefined);
    if (token !== undefined) event.token = token;
    await audit.record(event); // a failure answers 503 instead: nothing is reported done unrecorded
  };
}

function mutationOf(method: string, url: string): { action: AuditAction; ref?: string } | undefined {
  const path = routedPath(url);
  for (const [m, re, action] of MUTATIONS) {
    if (m !== method) continue;
    const found = re.exec(path);
    if (found) return found[1] === undefined ? { action } : { action, ref: decoded(found[1]) };
  }
  return undefined;
}

function resultOf(c: Context): string {
  if (c.error) return isSecretdError(c.error) ? c.error.code : 'error';
  return c.res.status < 400 ? 'ok' : 'refused';
}

function decoded(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
