/**
 * Who may administer secretd's own objects (consumer tokens, value versions, removed secrets):
 * a caller on the unix socket (its mode says who could connect), or over TLS with a client
 * certificate the CA signed, as dockerd trusts either for everything. Plain TCP never.
 */
import type { MiddlewareHandler } from 'hono';
import { Forbidden } from '../core/errors.ts';
import type { EdgeEnv } from './env.ts';

/** Middleware refusing any other caller with 403 `WHAT are administered over …`. */
export function adminOnly(what: string): MiddlewareHandler<EdgeEnv> {
  return async function administrator(c, next) {
    const caller = c.var.caller;
    const trusted = caller.transport === 'unix' || (caller.transport === 'tls' && caller.certSubject !== undefined);
    if (!trusted) throw new Forbidden(`${what} are administered over the unix socket or TLS with a client certificate only`);
    await next();
  };
}
