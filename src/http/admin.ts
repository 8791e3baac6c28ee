/**
 * Who may administer secretd's own objects (consumer tokens, value versions, removed secrets):
 * a caller on the unix socket (its mode says who could connect), or over TLS with a client
 * certificate the CA signed, as dockerd trusts either for everything. Plain TCP never, except
 * through the web console where a route admits it (below).
 */
import type { MiddlewareHandler } from 'hono';
import { Forbidden } from '../core/errors.ts';
import type { Caller, EdgeEnv } from './env.ts';

export interface AdminOptions {
  /**
   * Also admit the web console's in-process calls (value versions only). Why that is safe:
   * `via: 'console'` is set by the app itself on the console's own Engine calls
   * (src/http/app.ts, `onBehalfOf`), never from anything a client sends, so a curl to this route
   * cannot claim it; the console is served only on loopback or with --tlsverify
   * (src/daemon/ui-listeners.ts), and each of its changes passed its Host, Origin, session and
   * CSRF checks (src/http/routes/ui.tsx). What it admits gives no more than that caller has
   * already: a rotate or rollback replaces a value, as `docker secret rm` then `create` under the
   * same name over the same connection may; a version list holds no value. Tokens never get
   * this: a token reads values, which no plain-TCP caller can otherwise do.
   */
  console?: boolean;
}

/** Middleware refusing any other caller with 403 `WHAT are administered over …`. */
export function adminOnly(what: string, opts: AdminOptions = {}): MiddlewareHandler<EdgeEnv> {
  return async function administrator(c, next) {
    const caller = c.get('caller');
    const trusted =
      caller.transport === 'unix' || (caller.transport === 'tls' && caller.certSubject !== undefined) || (opts.console === true && viaConsole(caller));
    if (!trusted) throw new Forbidden(`${what} are administered over the unix socket or TLS with a client certificate only`);
    await next();
  };
}

/** The console acting for a browser on one of the TCP listeners it is served on. */
function viaConsole(caller: Caller): boolean {
  return caller.via === 'console' && (caller.transport === 'tcp' || caller.transport === 'tls');
}
