/**
 * Builds the Engine API application. The entry point parses the request path once
 * (src/http/env.ts) and routes on it without its `/vX.Y` prefix; each route carries the version
 * middleware (src/http/api-version.ts), so unknown routes fall through to dockerd's bare 404.
 * Before any route: the caller is computed (src/http/connection.ts), the request is logged, and
 * web pages are refused (src/http/browser-guard.ts). Errors are mapped once, in src/http/errors.ts.
 */
import { type Context, Hono, type MiddlewareHandler, type Next } from 'hono';
import type { Logger } from 'pino';
import type { AuditLog } from '../audit/log.ts';
import type { DeliveryService } from '../delivery/deliver.ts';
import type { TokenService } from '../delivery/tokens.ts';
import type { SchemaRegistry } from '../schemas.ts';
import type { SecretsService } from '../secrets/service.ts';
import type { SwarmService } from '../swarm/service.ts';
import { EngineClient } from '../ui/engine.ts';
import { isSecretdError } from '../core/errors.ts';
import { auditor } from './audit.ts';
import { apiVersion } from './api-version.ts';
import { refuseBrowsers } from './browser-guard.ts';
import { callerOf } from './connection.ts';
import type { Caller, EdgeEnv, FetchHandler } from './env.ts';
import { readTarget } from './request-target.ts';
import { errorResponse, pageNotFound } from './errors.ts';
import { empty } from './respond.ts';
import { deliveryRoutes } from './routes/delivery.ts';
import { keyRoutes, type KeyAdmin } from './routes/keys.ts';
import { versionRoutes } from './routes/versions.ts';
import type { Recovery } from '../secrets/recovery.ts';
import type { SecretVersions } from '../secrets/versions.ts';
import { secretRoutes } from './routes/secrets.ts';
import { swarmRoutes } from './routes/swarm.ts';
import { systemRoutes, type SystemInfo } from './routes/system.ts';
import { uiRoutes } from './routes/ui.tsx';

export type { FetchHandler } from './env.ts';

export interface AppDeps {
  secrets: SecretsService;
  swarm: SwarmService;
  schemas: SchemaRegistry;
  system: SystemInfo;
  log: Logger;
  /** Where changes are recorded; absent with --no-audit. */
  audit?: AuditLog | undefined;
  /** Key administration (/_secretd/v1/keys); absent when the caller builds an app without it. */
  keys?: KeyAdmin | undefined;
  /** Value versions and removed secrets (/_secretd/v1/secrets/{id}/versions, /_secretd/v1/removed-secrets). */
  versions?: { versions: SecretVersions; recovery: Recovery } | undefined;
  /** Present when the daemon serves /_secretd/v1 (--delivery). */
  delivery?: { tokens: TokenService; deliver: DeliveryService } | undefined;
  /** Present when the daemon serves the web console at /ui (--ui): the drivers its form offers. */
  ui?: { secretDrivers: readonly string[]; templatingDrivers: readonly string[] } | undefined;
}

export function createApp(deps: AppDeps): FetchHandler {
  const app = new Hono<EdgeEnv>({ getPath: (_req, options) => options?.env?.target.routed ?? '/' });
  const cutShort = (error: unknown, path: string) =>
    isSecretdError(error)
      ? deps.log.warn({ path, code: error.code }, 'answer cut short')
      : deps.log.error({ path, err: redacted(error) }, 'answer cut short: unexpected error');
  const entry: FetchHandler = (req, env) => {
    // The path as sent, not as the URL parser normalised it: dockerd redirects what is not clean.
    const read = readTarget(env?.incoming?.url ?? req.url);
    if ('redirect' in read) return new Response(null, { status: 301, headers: { Location: read.redirect, 'Content-Length': '0' } });
    if ('badRequest' in read)
      return new Response('400 Bad Request', { status: 400, headers: { 'Content-Type': 'text/plain; charset=utf-8', Connection: 'close' } });
    return app.fetch(req, { ...env, target: read.target, cutShort });
  };

  // Each step of Hono's chain costs on every request, so the edge is one middleware; two when
  // requests are logged (the level is fixed at start), so that a refusal the guard throws is
  // answered (onError) before its line is written.
  if (deps.log.isLevelEnabled('info')) {
    app.use('*', identifiedAndLogged(deps.log));
    app.use('*', (c, next) => refusingBrowsersAndHead(c, next));
  } else {
    app.use('*', (c, next) => {
      identify(c);
      return refusingBrowsersAndHead(c, next);
    });
  }

  const audited = auditor(deps.audit);
  systemRoutes(app, deps.swarm, deps.system);
  swarmRoutes(app, deps.swarm, deps.schemas, audited);
  secretRoutes(app, deps.secrets, deps.schemas, audited);
  if (deps.keys) keyRoutes(app, deps.swarm, deps.keys, audited);
  if (deps.versions) versionRoutes(app, deps.versions.versions, deps.versions.recovery, deps.schemas, audited);
  if (deps.delivery) deliveryRoutes(app, deps.delivery.deliver, deps.delivery.tokens, deps.schemas, audited);
  // The console calls the Engine routes above in-process, so it shares every rule and message;
  // each call carries the browser's connection as its caller.
  if (deps.ui) uiRoutes(app, { engine: (caller) => new EngineClient((req) => entry(req, { onBehalfOf: { ...caller, via: 'console' } })), ...deps.ui });
  // dockerd answers OPTIONS on any path, through its middlewares (the version's headers and checks).
  app.options('*', apiVersion(), (c) => empty(c));

  app.notFound(() => pageNotFound());
  app.onError((err, c) => errorResponse(c, err, (e) => deps.log.error({ err: redacted(e) }, 'unexpected error')));

  return entry;
}

/** Who sent the request, once, for every guard, log line and audit record after it. */
function identify(c: Context<EdgeEnv>): Caller {
  const caller = callerOf(c.env);
  c.set('caller', caller);
  c.set('audit', {});
  return caller;
}

/**
 * `identify`, then one line per request: method, path (never the query: dockerode puts the spec
 * there), status, time, and over --tlsverify who sent it (the client certificate's subject, as
 * the audit log has it).
 */
function identifiedAndLogged(log: Logger): MiddlewareHandler<EdgeEnv> {
  return async function identifiedAndLogged(c, next) {
    const peer = identify(c).certSubject;
    const start = performance.now();
    await next();
    const ms = Math.round((performance.now() - start) * 100) / 100;
    log.info({ method: c.req.method, path: c.env.target.path, status: c.res.status, ms, ...(peer ? { peer } : {}) }, 'request');
  };
}

/**
 * Web pages are refused (src/http/browser-guard.ts). Hono answers HEAD from GET routes; dockerd
 * has a HEAD route for /_ping only, whose answer says Content-Length: 0.
 */
async function refusingBrowsersAndHead(c: Context<EdgeEnv>, next: Next): ReturnType<MiddlewareHandler<EdgeEnv>> {
  refuseBrowsers(c);
  if (c.req.method !== 'HEAD') return next();
  if (c.env.target.routed !== '/_ping') return pageNotFound();
  await next();
  c.res.headers.set('Content-Length', '0');
}

/** Only the error's class, code and stack frames reach the log: messages of foreign errors may quote input. */
function redacted(e: unknown): Record<string, unknown> {
  if (!(e instanceof Error)) return { type: typeof e };
  const frames = (e.stack ?? '').split('\n').filter((l) => l.trimStart().startsWith('at '));
  return { type: e.name, code: (e as { code?: unknown }).code, stack: frames.slice(0, 8).join('\n') };
}
