/**
 * Delivery: the value of one secret for one task, as a Swarm worker would receive it — the
 * stored data or the driver's value, then templating — handed to a holder of a consumer token
 * whose scope covers the secret. Every delivery is logged, never with the value.
 */
import type { Peer } from '../audit/events.ts';
import type { KeyService } from '../crypto/keys.ts';
import type { DriverRegistry } from '../drivers/registry.ts';
import type { SecretRequest, TemplateContext, TemplateFunctions } from '../drivers/types.ts';
import {
  DriverFailed,
  DriverNotFound,
  isSecretdError,
  SecretNotFound,
  TemplateFailed,
} from '../secrets/errors.ts';
import { resolveSecret } from '../secrets/resolve.ts';
import { MAX_SECRET_BYTES, openSealed } from '../secrets/service.ts';
import type { SecretRecord } from '../secrets/types.ts';
import type { Store } from '../store/types.ts';
import type { SwarmService } from '../swarm/service.ts';
import { allows, claimedTokenId, type TokenService } from './tokens.ts';
import type { DeliveryContext, TokenRecord } from './types.ts';

export interface DeliveryDeps {
  store: Store;
  swarm: SwarmService;
  keys: KeyService;
  drivers: DriverRegistry;
  tokens: TokenService;
  /**
   * Told about every delivery attempt: who, which secret, the outcome. Never the value. The
   * value is handed out only once this settles, and not at all if it fails.
   */
  audit(event: DeliveryEvent): void | Promise<void>;
}

export interface DeliveryEvent {
  /** The token's ID; for a refused token, the ID it claimed to have, if it had the format. */
  token?: string;
  /** The connection the request came on. */
  peer?: Peer;
  secret: string;
  secretId?: string;
  task?: string;
  result: 'delivered' | string;
}

export interface Delivered {
  value: Uint8Array;
  /** The driver asked that this value not be shared with other tasks. */
  doNotReuse: boolean;
}

export class DeliveryService {
  constructor(private readonly deps: DeliveryDeps) {}

  /** The value of `idOrName` for the task `context` describes, for the holder of `authorization`. */
  async deliver(authorization: string | undefined, idOrName: string, context: DeliveryContext, peer?: Peer): Promise<Delivered> {
    const event: DeliveryEvent = { secret: idOrName, result: 'delivered' };
    const claimed = claimedTokenId(authorization);
    if (claimed) event.token = claimed;
    if (peer) event.peer = peer;
    if (context.task.ID) event.task = context.task.ID;
    try {
      const token = await this.deps.tokens.authenticate(authorization);
      this.deps.swarm.requireManager();
      const secret = await this.lookup(token, idOrName);
      event.secret = secret.name;
      event.secretId = secret.id;
      const raw = await this.rawValue(secret, context);
      const value = secret.templating ? await this.render(secret, raw.value, token, context) : raw.value;
      return { value, doNotReuse: raw.doNotReuse };
    } catch (e) {
      event.result = isSecretdError(e) ? e.code : 'error';
      throw e;
    } finally {
      await this.deps.audit(event);
    }
  }

  /**
   * The secret, resolved among the secrets the token may read only (by full ID, name or ID
   * prefix, as dockerd resolves): one outside the scope is answered exactly as one that does not
   * exist, so a token learns nothing about names, IDs or counts outside its scope. Patterns are
   * matched against stored names only, never against what the client sent.
   */
  private async lookup(token: TokenRecord, idOrName: string): Promise<SecretRecord> {
    const secret = await resolveSecret(this.deps.store, idOrName, (s) => allows(token, s.name));
    return (await this.deps.store.getSecret(secret.id)) ?? raiseNotFound(idOrName);
  }

  /** The bytes before templating: the driver's answer, or the stored value. */
  private async rawValue(secret: SecretRecord, context: DeliveryContext): Promise<{ value: Uint8Array; doNotReuse: boolean }> {
    if (secret.driver?.Name) {
      const name = secret.driver.Name;
      const driver = await this.deps.drivers.secretDriver(name);
      if (!driver) throw new DriverNotFound(name);
      let answer;
      try {
        answer = await driver.get(secretRequest(secret, context));
      } catch (e) {
        if (isSecretdError(e)) throw e;
        throw new DriverFailed(name, e instanceof Error ? e.message : String(e));
      }
      const value = answer?.value;
      if (!(value instanceof Uint8Array) || value.length === 0 || value.length >= MAX_SECRET_BYTES) {
        throw new DriverFailed(name, `the value must be 1 to ${MAX_SECRET_BYTES - 1} bytes (got ${value instanceof Uint8Array ? value.length : typeof value})`);
      }
      return { value, doNotReuse: answer.doNotReuse === true };
    }
    if (!secret.sealed) throw new SecretNotFound(secret.id); // cannot happen for a record the service wrote
    return { value: await openSealed(this.deps.keys, { ...secret, sealed: secret.sealed }), doNotReuse: false };
  }

  private async render(secret: SecretRecord, template: Uint8Array, token: TokenRecord, context: DeliveryContext): Promise<Uint8Array> {
    const name = secret.templating!.Name;
    const driver = this.deps.drivers.templatingDriver(name);
    if (!driver) throw new TemplateFailed(secret.id, `unrecognized template type ${name}`);
    // A template function that fails for a domain reason (a reference out of the token's scope, a
    // driver down) answers as that reason, whatever the templating driver wraps it in.
    let domainFailure: unknown;
    const functions: TemplateFunctions = {
      env: (key) => envValue(context.env, key),
      secret: async (target) => {
        const ref = context.secrets.find((s) => s.Target === target);
        if (!ref) throw new Error(`secret target ${target} not found`);
        try {
          const other = await this.lookup(token, ref.Secret);
          return (await this.rawValue(other, context)).value;
        } catch (e) {
          domainFailure ??= e;
          throw e;
        }
      },
      config: async (target) => {
        throw new Error(`config target ${target} not found`);
      },
    };
    let out: Uint8Array;
    try {
      out = await driver.render(template, {
        secretId: secret.id,
        secretName: secret.name,
        context: templateContext(context),
        functions,
        options: { ...secret.templating!.Options },
      });
    } catch (e) {
      if (domainFailure !== undefined) throw domainFailure;
      if (isSecretdError(e)) throw e;
      throw new TemplateFailed(secret.id, e instanceof Error ? e.message : String(e));
    }
    if (!(out instanceof Uint8Array) || out.length >= MAX_SECRET_BYTES) {
      throw new TemplateFailed(secret.id, `the rendered value must be less than ${MAX_SECRET_BYTES} bytes`);
    }
    return out;
  }
}

function raiseNotFound(input: string): never {
  throw new SecretNotFound(input);
}

/** The GetSecret request for this secret and task; task fields only where the context has them. */
function secretRequest(secret: SecretRecord, c: DeliveryContext): SecretRequest {
  const r: SecretRequest = { SecretName: secret.name, SecretLabels: { ...secret.labels }, Options: { ...secret.driver?.Options } };
  if (c.service.Hostname) r.ServiceHostname = c.service.Hostname;
  if (c.service.ID) r.ServiceID = c.service.ID;
  if (c.service.Name) r.ServiceName = c.service.Name;
  if (Object.keys(c.service.Labels).length > 0) r.ServiceLabels = { ...c.service.Labels };
  if (c.task.ID) r.TaskID = c.task.ID;
  if (c.task.Name) r.TaskName = c.task.Name;
  if (c.task.Image) r.TaskImage = c.task.Image;
  if (c.node.ID) r.NodeID = c.node.ID;
  return r;
}

function templateContext(c: DeliveryContext): TemplateContext {
  return {
    Service: { ID: c.service.ID, Name: c.service.Name, Labels: { ...c.service.Labels } },
    Node: { ID: c.node.ID, Hostname: c.node.Hostname, Platform: { ...c.node.Platform } },
    // swarmkit: a task without a slot (a global service's) shows its node ID instead.
    Task: { ID: c.task.ID, Name: c.task.Name, Slot: c.task.Slot || c.node.ID },
  };
}

/** The last `KEY=VALUE` entry for `key`, as a container sees its environment; '' when unset. */
function envValue(env: string[], key: string): string {
  let value = '';
  for (const entry of env) {
    const eq = entry.indexOf('=');
    if (eq > 0 && entry.slice(0, eq) === key) value = entry.slice(eq + 1);
  }
  return value;
}
