/**
 * Builds the Engine API application. Routes are matched on the path without its `/vX.Y`
 * prefix; each route carries the version middleware (src/http/api-version.ts), so unknown
 * routes fall through to dockerd's bare 404. Errors are mapped once, in src/http/errors.ts.
 */
import { Hono } from 'hono';
import type { Logger } from 'pino';
import type { AuditLog } from '../audit/log.ts';
import type { DeliveryService } from '../delivery/deliver.ts';
import type { TokenService } from '../delivery/tokens.ts';
import type { SchemaRegistry } from '../schemas.ts';
import type { SecretsService } from '../secrets/service.ts';
import type { SwarmService } from '../swarm/service.ts';
import { pathOf, routedPath } from './api-version.ts';
import { auditMiddleware } from './audit.ts';
import { errorResponse, pageNotFound } from './errors.ts';
import { peerCertificateSubject } from './peer.ts';
import { deliveryRoutes } from './routes/delivery.ts';
import { keyRoutes, type KeyAdmin } from './routes/keys.ts';
import { secretRoutes } from './routes/secrets.ts';
import { swarmRoutes } from './routes/swarm.ts';
import { systemRoutes, type SystemInfo } from './routes/system.ts';
import { uiRoutes } from './routes/ui.tsx';
import { EngineClient } from '../ui/engine.ts';

export interface AppDeps {
  secrets: SecretsService;
  swarm: SwarmService;
  schemas: SchemaRegistry;
  system: SystemInfo;
  log: Logger;
  /** Where mutating requests are recorded; absent with --no-audit. */
  audit?: AuditLog | undefined;
  /** Key administration (/_secretd/v1/keys); absent in tests that build a bare app. */
  keys?: KeyAdmin | undefined;
  /** Present when the daemon serves /_secretd/v1 (--delivery). */
  delivery?: { tokens: TokenService; deliver: DeliveryService } | undefined;
  /** Present when the daemon serves the web console at /ui (--ui): the drivers its form offers. */
  ui?: { secretDrivers: readonly string[]; templatingDrivers: readonly string[] } | undefined;
}

export type FetchHandler = (req: Request, env?: unknown) => Response | Promise<Response>;

export function createApp(deps: AppDeps): FetchHandler {
  const app = new Hono({ getPath: (req) => routedPath(req.url) });

  // One line per request: method, path (never the query: dockerode puts the spec there), status,
  // time, and over --tlsverify who sent it (the client certificate's subject).
  app.use('*', async (c, next) => {
    if (!deps.log.isLevelEnabled('info')) return next();
    const start = performance.now();
    await next();
    const peer = peerCertificateSubject(c);
    deps.log.info(
      { method: c.req.method, path: pathOf(c.req.url), status: c.res.status, ms: Math.round((performance.now() - start) * 100) / 100, ...(peer ? { peer } : {}) },
      'request',
    );
  });

  if (deps.audit) app.use('*', auditMiddleware(deps.audit));

  systemRoutes(app, deps.swarm, deps.system);
  swarmRoutes(app, deps.swarm, deps.schemas);
  secretRoutes(app, deps.secrets, deps.schemas);
  if (deps.keys) keyRoutes(app, deps.swarm, deps.keys);
  if (deps.delivery) deliveryRoutes(app, deps.delivery.deliver, deps.delivery.tokens, deps.schemas);
  // The console calls the Engine routes above in-process, so it shares every rule and message.
  if (deps.ui) uiRoutes(app, { engine: new EngineClient((req) => app.fetch(req)), ...deps.ui });
  app.options('*', (c) => c.body(null, 200));

  app.notFound(() => pageNotFound());
  app.onError((err, c) => errorResponse(c, err, (e) => deps.log.error({ err: redacted(e) }, 'unexpected error')));

  return (req, env) => {
    // Hono answers HEAD from GET routes; dockerd has a HEAD route for /_ping only.
    if (req.method === 'HEAD' && routedPath(req.url) !== '/_ping') {
      if (deps.log.isLevelEnabled('info')) deps.log.info({ method: 'HEAD', path: pathOf(req.url), status: 404, ms: 0 }, 'request');
      return pageNotFound();
    }
    if (req.method === 'HEAD') return headResponse(app.fetch(req, env));
    return app.fetch(req, env);
  };
}

/** dockerd's HEAD /_ping says Content-Length: 0 (Go writes no body). */
async function headResponse(res: Response | Promise<Response>): Promise<Response> {
  const r = await res;
  const headers = new Headers(r.headers);
  headers.set('Content-Length', '0');
  return new Response(null, { status: r.status, headers });
}

/** Only the error's class, code and stack frames reach the log: messages of foreign errors may quote input. */
function redacted(e: unknown): Record<string, unknown> {
  if (!(e instanceof Error)) return { type: typeof e };
  const frames = (e.stack ?? '').split('\n').filter((l) => l.trimStart().startsWith('at '));
  return { type: e.name, code: (e as { code?: unknown }).code, stack: frames.slice(0, 8).join('\n') };
}
