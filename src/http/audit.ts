/**
 * Auditing, declared on the route that makes the change: `audited('secret.create')` in the
 * route's middleware list. The record — the caller, the action, what the route noted it acted
 * on (`noteSecret`, `noteToken`, `noteChange`), the result and the status — is on disk before
 * the answer leaves, for refusals as for successes. Never a body, a query string, a value, a key
 * or a token's secret part. Deliveries are recorded by the DeliveryService, which knows the
 * token and the secret.
 */
import type { Context, MiddlewareHandler } from 'hono';
import type { AuditAction, AuditEvent, ValueVersionsChange } from '../audit/events.ts';
import type { AuditLog } from '../audit/log.ts';
import { isSecretdError } from '../core/errors.ts';
import type { EdgeEnv } from './env.ts';
import type { WriteOptions } from '../store/types.ts';

const AUDIT_LINE_FOLLOWS: WriteOptions = Object.freeze({ auditLineFollows: true });

/** Middleware that records `action` for the route it is declared on; `ref` names the path parameter the client used for the secret or token. */
export type Audited = (action: AuditAction, ref?: string) => MiddlewareHandler<EdgeEnv>;

/** `audited` for this log; with --no-audit (no log) it lets every request through unrecorded. */
export function auditor(log: AuditLog | undefined): Audited {
  return (action, ref) =>
    async function audited(c, next) {
      if (!log) return next();
      // The line recorded below is flushed after the route's writes: they may settle at commit.
      if (log.linesFollowWrites) c.set('writes', AUDIT_LINE_FOLLOWS);
      await next();
      const notes = c.get('audit');
      const event: AuditEvent = { who: c.get('caller'), action, result: resultOf(c), status: c.res.status };
      const given = ref === undefined ? undefined : c.req.param(ref);
      if (action.startsWith('secret.')) {
        const secret = { ...notes.secret };
        if (given !== undefined && secret.id === undefined) secret.ref = given; // unresolved: as the client named it
        if (Object.keys(secret).length > 0) event.secret = secret;
      }
      const token = notes.token ?? (action.startsWith('token.') ? given : undefined);
      if (token !== undefined) event.token = token;
      if (notes.change) event.change = notes.change;
      if (notes.versions) event.versions = notes.versions;
      await log.record(event); // a failure answers 503 instead: nothing is reported done unrecorded
    };
}

/** A route says which secret it acted on (the created ID, the resolved name). */
export function noteSecret(c: Context<EdgeEnv>, secret: { id?: string; name?: string }): void {
  const n = c.get('audit');
  n.secret = { ...n.secret, ...secret };
}

/** A route says which consumer token it acted on (its public ID). */
export function noteToken(c: Context<EdgeEnv>, id: string): void {
  c.get('audit').token = id;
}

/** A rotate or rollback says which value versions it changed. */
export function noteVersions(c: Context<EdgeEnv>, versions: ValueVersionsChange): void {
  c.get('audit').versions = versions;
}

/** A route says what a swarm change asked for (flags and states, never a key). */
export function noteChange(c: Context<EdgeEnv>, change: Record<string, string | boolean>): void {
  const n = c.get('audit');
  n.change = { ...n.change, ...change };
}

function resultOf(c: Context<EdgeEnv>): string {
  if (c.error) return isSecretdError(c.error) ? c.error.code : 'error';
  return c.res.status < 400 ? 'ok' : 'refused';
}
