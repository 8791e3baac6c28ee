/**
 * secretd's own endpoints, under /_secretd/v1 where no Engine API path can ever be: consumer
 * tokens (administered only over a unix socket) and value delivery (bearer token required).
 * Mounted only when the daemon runs with --delivery.
 */
import type { Hono } from 'hono';
import type { DeliveryService } from '../../delivery/deliver.ts';
import type { TokenService } from '../../delivery/tokens.ts';
import type { DeliveryContext } from '../../delivery/types.ts';
import { parseVersionPin, PIN_HINT } from '../../delivery/version-pin.ts';
import type { SchemaRegistry } from '../../schemas.ts';
import type { DeliveryContext as WireContext } from '../../spec-types/delivery-context.ts';
import { InvalidRequest } from '../../core/errors.ts';
import { adminOnly } from '../admin.ts';
import { noteToken, type Audited } from '../audit.ts';
import { readJsonBody } from '../body.ts';
import { checkedBody } from '../checked-body.ts';
import type { EdgeEnv } from '../env.ts';
import { empty, json } from '../respond.ts';

export const DELIVERY_PREFIX = '/_secretd/v1';

export function deliveryRoutes(app: Hono<EdgeEnv>, delivery: DeliveryService, tokens: TokenService, schemas: SchemaRegistry, audited: Audited): void {
  const admin = adminOnly('consumer tokens');

  app.post(`${DELIVERY_PREFIX}/tokens`, audited('token.create'), admin, async (c) => {
    const body = checkedBody(schemas, 'token-create.json', await readJsonBody(c));
    const { token, view } = await tokens.issue(body.Allow, body.Description ?? '');
    noteToken(c, view.ID);
    return json(c, { ...view, Token: token }, 201);
  });

  app.get(`${DELIVERY_PREFIX}/tokens`, admin, async (c) => json(c, await tokens.list()));

  app.delete(`${DELIVERY_PREFIX}/tokens/:id`, audited('token.revoke', 'id'), admin, async (c) => {
    await tokens.revoke(c.req.param('id'));
    return empty(c, 204);
  });

  app.on(['GET', 'POST'], `${DELIVERY_PREFIX}/secrets/:id/value`, async (c) => {
    const authorization = c.req.header('authorization');
    // The token before the body: without a valid one, no byte of the body is read or buffered.
    // The delivery service then refuses (and audits) as for any bad token.
    let body: unknown;
    if (c.req.method === 'POST') {
      const valid = await tokens.authenticate(authorization).then(
        () => true,
        () => false,
      );
      if (!valid) await delivery.deliver(authorization, c.req.param('id'), toContext({}), c.get('caller'));
      body = await readJsonBody(c);
    }
    const context = toContext(checkedBody(schemas, 'delivery-context.json', body ?? {}));
    const { value, doNotReuse, version } = await delivery.deliver(
      authorization,
      c.req.param('id'),
      context,
      c.get('caller'),
      pinnedVersion(c.req.query('version')),
    );
    return c.body(value as Uint8Array<ArrayBuffer>, 200, {
      'Content-Type': 'application/octet-stream',
      'Cache-Control': 'no-store',
      'X-Secretd-Do-Not-Reuse': String(doNotReuse),
      ...(version === undefined ? {} : { 'X-Secretd-Version': String(version) }),
    });
  });
}

/** `?version=N` pins a value version (src/delivery/version-pin.ts); absent: the current one. */
function pinnedVersion(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const version = parseVersionPin(text);
  if (version === undefined) throw new InvalidRequest(`invalid version ${JSON.stringify(text)}: ${PIN_HINT}`);
  return version;
}

/** The wire document (spec/delivery-context.json) with every absent field at its zero value, as Go would decode it. */
function toContext(w: WireContext): DeliveryContext {
  const s = w.Service ?? {};
  const n = w.Node ?? {};
  const t = w.Task ?? {};
  return {
    service: { ID: s.ID ?? '', Name: s.Name ?? '', Labels: { ...s.Labels }, Hostname: s.Hostname ?? '' },
    node: { ID: n.ID ?? '', Hostname: n.Hostname ?? '', Platform: { OS: n.Platform?.OS ?? '', Architecture: n.Platform?.Architecture ?? '' } },
    task: { ID: t.ID ?? '', Name: t.Name ?? '', Slot: t.Slot ?? '', Image: t.Image ?? '' },
    env: [...(w.Env ?? [])],
    secrets: [...(w.Secrets ?? [])],
  };
}
