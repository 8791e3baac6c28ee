/**
 * The one resolution path for handing a value out: who asks has a scope (name patterns, matched
 * against the secret's stored name), names a secret, and describes a task. The secret is looked
 * up among the secrets in scope only — one outside the scope is answered exactly as a missing one
 * — then its value comes from its driver or the store, goes through its templating with the task
 * context, and every attempt is one audit event (never the value). Consumer-token deliveries
 * (deliver.ts) and the Docker plugin (src/plugin/) both go through here.
 *
 * A stored value is the secret's current version (src/secrets/versions.ts), unless the asker
 * pins one (version-pin.ts): then exactly that version, or VersionNotFound if it is not kept —
 * never another version's bytes.
 */
import type { KeyService } from '../crypto/keys.ts';
import type { DriverRegistry } from '../drivers/registry.ts';
import type { SecretRequest, TemplateContext, TemplateFunctions } from '../drivers/types.ts';
import { DriverFailed, DriverNotFound, isSecretdError, SecretNotFound, TemplateFailed, VersionNotFound } from '../core/errors.ts';
import { resolveSecret } from '../secrets/resolve.ts';
import { legacySealContext, openSealed, valueContext } from '../crypto/seal-binding.ts';
import { MAX_SECRET_SIZE as MAX_SECRET_BYTES } from '../drivers/kit.ts';
import type { SecretRecord } from '../secrets/types.ts';
import type { Store } from '../store/types.ts';
import type { SwarmService } from '../swarm/service.ts';
import type { Peer } from '../audit/events.ts';
import { allows } from './tokens.ts';
import type { DeliveryContext } from './types.ts';

export interface ResolverDeps {
  store: Store;
  swarm: SwarmService;
  keys: KeyService;
  drivers: DriverRegistry;
  /**
   * Told about every attempt: who, which secret, for which task, the outcome. Never the value.
   * The value is handed out only once this settles, and not at all if it fails.
   */
  audit(event: DeliveryEvent): void | Promise<void>;
}

/** One attempt, as the audit log records it. */
export interface DeliveryEvent {
  /** The token's ID; for a refused token, the ID it claimed to have, if it had the format. */
  token?: string;
  /** The connection the request came on. */
  peer?: Peer;
  /** The secret as resolved (its stored name), else as asked. */
  secret: string;
  secretId?: string;
  task?: string;
  /** The service and node the task belongs to, when the asker said (the plugin always does). */
  service?: string;
  node?: string;
  /** The volume a value was written into (the plugin's VolumeDriver.Mount). */
  volume?: string;
  /** The value version handed out (stored values only; a driver's value has none). */
  version?: number;
  result: 'delivered' | string;
}

/** What the asker may read and what it asks for; produced inside the audited attempt. */
export interface Ask {
  /** Name patterns (`*` matches any run of characters) matched in full against stored names. */
  scope: readonly string[];
  /** The secret as named: an exact name, or (with `match: 'docker'`) also a full ID or a unique ID prefix. */
  ref: string;
  /** `name`: the exact stored name only (a Docker plugin asks by name); `docker`: dockerd's ID, name, ID-prefix order. */
  match: 'name' | 'docker';
  context: DeliveryContext;
  /** A pinned value version: that one or VersionNotFound. Absent: the current one. */
  version?: number;
}

export interface Delivered {
  value: Uint8Array;
  /** The driver asked that this value not be shared with other tasks. */
  doNotReuse: boolean;
  /** The secret resolved. */
  secret: { id: string; name: string };
  /** The value version handed out; absent for a driver's value. */
  version?: number;
}

export class ValueResolver {
  private readonly deps: ResolverDeps;
  constructor(deps: ResolverDeps) {
    this.deps = deps;
  }

  /**
   * One audited attempt. `authorize` runs first, inside it (a refused token is audited too): it
   * says who may read what, or throws. `event` carries who asks; the rest is filled in here.
   */
  async resolve(event: DeliveryEvent, authorize: () => Ask | Promise<Ask>): Promise<Delivered> {
    try {
      const ask = await authorize();
      if (ask.context.task.ID) event.task ??= ask.context.task.ID;
      this.deps.swarm.requireManager();
      const secret = await this.lookup(ask.scope, ask.ref, ask.match);
      event.secret = secret.name;
      event.secretId = secret.id;
      const raw = await this.rawValue(secret, ask.context, ask.version);
      if (raw.version !== undefined) event.version = raw.version;
      const value = secret.templating ? await this.render(secret, raw.value, ask) : raw.value;
      event.result = 'delivered';
      const got: Delivered = { value, doNotReuse: raw.doNotReuse, secret: { id: secret.id, name: secret.name } };
      if (raw.version !== undefined) got.version = raw.version;
      return got;
    } catch (e) {
      event.result = isSecretdError(e) ? e.code : 'error';
      throw e;
    } finally {
      await this.deps.audit(event);
    }
  }

  /** The secret `ref` names among those in `scope`; anything else is "not found", whether it exists or not. */
  private async lookup(scope: readonly string[], ref: string, match: Ask['match']): Promise<SecretRecord> {
    const inScope = (s: SecretRecord) => allows({ allow: [...scope] }, s.name);
    let found: SecretRecord;
    if (match === 'name') {
      const named = (ref === '' ? [] : await this.deps.store.findSecrets({ names: [ref] })).filter((s) => s.name === ref && inScope(s));
      if (named.length !== 1) throw new SecretNotFound(ref);
      found = named[0]!;
    } else {
      found = await resolveSecret(this.deps.store, ref, inScope);
    }
    return (await this.deps.store.getSecret(found.id)) ?? raiseNotFound(ref);
  }

  /** The bytes before templating: the driver's answer, or the stored value (version `pinned` if given). */
  private async rawValue(
    secret: SecretRecord,
    context: DeliveryContext,
    pinned?: number,
  ): Promise<{ value: Uint8Array; doNotReuse: boolean; version?: number }> {
    // A driver's value has no versions to pin.
    if (secret.driver?.Name && pinned !== undefined) throw new VersionNotFound(secret.name, pinned);
    if (secret.driver?.Name) {
      const name = secret.driver.Name;
      const driver = await this.deps.drivers.secretDriver(name);
      if (!driver) throw new DriverNotFound(name);
      let answer: Awaited<ReturnType<typeof driver.get>>;
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
    const current = secret.valueVersion ?? 1;
    // The current version is the record's own sealed value: a pin costs nothing until a rotate.
    if (pinned === undefined || pinned === current) {
      return { value: await openSealed(this.deps.keys, { ...secret, sealed: secret.sealed }), doNotReuse: false, version: current };
    }
    const kept = await this.deps.store.valueVersion(secret.id, pinned);
    if (!kept || kept.version !== pinned) throw new VersionNotFound(secret.name, pinned);
    const value = await this.deps.keys.open(kept.sealed, valueContext(secret, pinned), pinned === 1 ? legacySealContext(secret) : valueContext(secret, pinned));
    return { value, doNotReuse: false, version: pinned };
  }

  private async render(secret: SecretRecord, template: Uint8Array, ask: Ask): Promise<Uint8Array> {
    const name = secret.templating!.Name;
    const driver = this.deps.drivers.templatingDriver(name);
    if (!driver) throw new TemplateFailed(secret.id, `unrecognized template type ${name}`);
    const context = ask.context;
    // A template function that fails for a domain reason (a reference out of scope, a driver
    // down) answers as that reason, whatever the templating driver wraps it in.
    let domainFailure: unknown;
    const functions: TemplateFunctions = {
      env: (key) => envValue(context.env, key),
      secret: async (target) => {
        const ref = context.secrets.find((s) => s.Target === target);
        if (!ref) throw new Error(`secret target ${target} not found`);
        try {
          const other = await this.lookup(ask.scope, ref.Secret, 'docker');
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
