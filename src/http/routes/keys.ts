/**
 * secretd's key administration, under /_secretd/v1 like delivery, over the unix socket only:
 * the key provider's state, and KEK rotation (the re-wrap runs in the background; GET shows its
 * progress). Not Docker's: dockerd rotates its own keys, and has no such endpoint.
 */
import type { Hono, MiddlewareHandler } from 'hono';
import type { KeyService } from '../../crypto/keys.ts';
import { Forbidden, InvalidRequest } from '../../core/errors.ts';
import type { KeyRotation } from '../../secrets/key-rotation.ts';
import type { SwarmService } from '../../swarm/service.ts';
import type { Audited } from '../audit.ts';
import type { EdgeEnv } from '../env.ts';
import { json } from '../respond.ts';
import { DELIVERY_PREFIX } from './delivery.ts';

export interface KeyAdmin {
  keys: KeyService;
  rotation: KeyRotation;
}

export function keyRoutes(app: Hono<EdgeEnv>, swarm: SwarmService, admin: KeyAdmin, audited: Audited): void {
  const guard: MiddlewareHandler<EdgeEnv> = async function unixSocketOnly(c, next) {
    if (c.get('caller').transport !== 'unix') throw new Forbidden('keys are administered over the unix socket only');
    swarm.requireManager(); // 503 while locked or outside a swarm
    await next();
  };

  app.get(`${DELIVERY_PREFIX}/keys`, guard, (c) => json(c, view(admin)));

  app.post(`${DELIVERY_PREFIX}/keys/rotate`, audited('keys.rotate'), guard, async (c) => {
    const refusal = admin.keys.rotationRefusal();
    if (refusal) throw new InvalidRequest(refusal);
    await admin.rotation.rotate();
    return json(c, view(admin));
  });
}

function view({ keys, rotation }: KeyAdmin) {
  const r = rotation.state;
  return {
    Provider: keys.providerName,
    CurrentKey: keys.currentKeyId(),
    Keys: keys.keyIds(),
    Autolock: keys.autolock,
    Rotation: { State: r.state, Rewrapped: r.rewrapped, Failed: r.failed, StartedAt: r.startedAt ?? '', FinishedAt: r.finishedAt ?? '' },
  };
}
