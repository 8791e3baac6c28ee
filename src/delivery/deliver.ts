/**
 * Delivery: the value of one secret for one task, as a Swarm worker would receive it — the
 * stored data or the driver's value, then templating — handed to a holder of a consumer token
 * whose scope covers the secret. The resolution itself (scope, driver, templating, audit) is
 * the one path in resolve-value.ts; this adds the token.
 */
import type { Peer } from '../audit/events.ts';
import { claimedTokenId, type TokenService } from './tokens.ts';
import type { Delivered, DeliveryEvent, ValueResolver } from './resolve-value.ts';
import type { DeliveryContext } from './types.ts';

export type { Delivered, DeliveryEvent } from './resolve-value.ts';

export interface DeliveryDeps {
  tokens: TokenService;
  resolver: ValueResolver;
}

export class DeliveryService {
  private readonly deps: DeliveryDeps;
  constructor(deps: DeliveryDeps) {
    this.deps = deps;
  }

  /**
   * The value of `idOrName` for the task `context` describes, for the holder of `authorization`:
   * its current version, or `version` when pinned. A name outside the token's scope is answered
   * as a missing one.
   */
  deliver(authorization: string | undefined, idOrName: string, context: DeliveryContext, peer?: Peer, version?: number): Promise<Delivered> {
    const event: DeliveryEvent = { secret: idOrName, result: 'delivered' };
    const claimed = claimedTokenId(authorization);
    if (claimed) event.token = claimed;
    if (peer) event.peer = peer;
    if (context.task.ID) event.task = context.task.ID;
    return this.deps.resolver.resolve(event, async () => {
      const token = await this.deps.tokens.authenticate(authorization);
      return { scope: token.allow, ref: idOrName, match: 'docker', context, ...(version === undefined ? {} : { version }) };
    });
  }
}
