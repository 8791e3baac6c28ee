/**
 * The secrets domain: swarmkit's rules for create, inspect, list, update and remove, in
 * dockerd's order (manager check, validation, lookup, store). Values are sealed before they
 * reach the store and never leave this module in the clear.
 */
import { timingSafeEqual } from 'node:crypto';
import type { KeyService } from '../crypto/keys.ts';
import { openSealed, sealContext } from '../crypto/seal-binding.ts';
import { MAX_SECRET_SIZE as MAX_SECRET_BYTES } from '../drivers/kit.ts';
import type { DriverRegistry } from '../drivers/registry.ts';
import type { SchemaRegistry } from '../schemas.ts';
import type { NewSecret, Store, WriteOptions } from '../store/types.ts';
import type { SwarmService } from '../swarm/service.ts';
import { rfc3339Nano } from '../core/clock.ts';
import type { DriverLog, SecretDriver, SecretInfo } from '../drivers/types.ts';
import { DriverFailed, DriverNotFound, InvalidArgument, InvalidRequest, isSecretdError, SecretNotFound } from '../core/errors.ts';
import { AnswerCache } from './answer-cache.ts';
import { listText, type ListText } from './list-text.ts';
import { checkFilterKeys, toSelection, type Filters } from './filters.ts';
import { newId } from '../core/ids.ts';
import { resolveRecent, resolveSecret } from './resolve.ts';
import { toView, type SecretRecord, type SecretSpecInput, type SecretView } from './types.ts';

const INVALID_NAME = 'invalid name, only 64 [a-zA-Z0-9-_.] characters allowed, and the start and end character must be [a-zA-Z0-9]';

export interface SecretsDeps {
  store: Store;
  swarm: SwarmService;
  keys: KeyService;
  drivers: DriverRegistry;
  schemas: SchemaRegistry;
  log: DriverLog;
  /** --recovery-window in milliseconds: a removed secret stays restorable that long (src/secrets/recovery.ts). */
  recoveryWindowMs?: number | undefined;
}

export class SecretsService {
  private readonly deps: SecretsDeps;
  private readonly answers = new AnswerCache();
  constructor(deps: SecretsDeps) {
    this.deps = deps;
  }

  async create(spec: SecretSpecInput, writes?: WriteOptions): Promise<string> {
    const { store, swarm, keys } = this.deps;
    swarm.requireManager();
    this.validateName(spec.name);
    let driver: SecretDriver | undefined;
    if (spec.driver) {
      // A driver supplies the value: swarmkit skips the size rule, and asks for the plugin.
      if (!spec.driver.Name) throw new InvalidArgument('secret driver must have a name');
      driver = await this.deps.drivers.secretDriver(spec.driver.Name);
      if (!driver) throw new DriverNotFound(spec.driver.Name);
      await driverCall(driver, () => driver!.validate?.({ ...spec.driver!.Options }, { name: spec.name, labels: { ...spec.labels } }));
    } else if (!spec.data || spec.data.length >= MAX_SECRET_BYTES) {
      throw new InvalidArgument(`secret data must be larger than 0 and less than ${MAX_SECRET_BYTES} bytes`);
    }
    const id = newId();
    const record: NewSecret = { id, name: spec.name, labels: spec.labels, createdAt: rfc3339Nano() };
    if (spec.driver) record.driver = spec.driver;
    if (spec.templating) record.templating = spec.templating;
    // A writable driver owns the value it is given; otherwise any data is kept, sealed.
    const handOver = driver?.store && spec.data && spec.data.length > 0 ? spec.data : undefined;
    // Creating reserves the name first, so a conflict never reaches the driver.
    if (spec.data && spec.data.length > 0 && !handOver) {
      await keys.sealThen(spec.data, sealContext(record), (sealed) => store.createSecret({ ...record, sealed }, writes));
    } else {
      await store.createSecret(record, writes);
    }
    if (handOver) {
      try {
        await driverCall(driver!, () => driver!.store!(secretInfo(record), handOver), 'failed');
      } catch (e) {
        await store.deleteSecret(id);
        throw e;
      }
    }
    return id;
  }

  async inspect(idOrName: string): Promise<SecretView> {
    this.deps.swarm.requireManager();
    return toView(await resolveSecret(this.deps.store, idOrName));
  }

  /** The inspect answer as JSON text (what JSON.stringify(inspect(idOrName)) gives), kept while the store is unchanged. */
  async inspectJson(idOrName: string): Promise<string> {
    this.deps.swarm.requireManager();
    return this.answered(`i${idOrName}`, async () => JSON.stringify(toView(await resolveSecret(this.deps.store, idOrName))));
  }

  async list(filters: Filters): Promise<SecretView[]> {
    const { store, swarm, schemas } = this.deps;
    swarm.requireManager();
    checkFilterKeys(filters, schemas);
    const { query, labels } = toSelection(filters);
    // The store applies the labels (its index); a second check here would only repeat it.
    return (await store.findSecrets(labels.size > 0 ? { ...query, labels } : query)).map(toView);
  }

  /**
   * The list as JSON text (what JSON.stringify(list(filters)) gives) for the filters `raw`
   * parses to: a list of all or by labels alone comes rendered by the store where it can
   * (Store.renderedList), the rest through toView. Kept by `raw` while the store is unchanged:
   * a text kept once parsed and passed the key check, and would again, so then only the manager
   * check is left to run.
   */
  async listJson(raw: string | undefined, parse: (raw: string | undefined) => Filters): Promise<ListText> {
    const { store, swarm, schemas } = this.deps;
    const key = `l${raw ?? ''}`;
    const generation = store.readGeneration?.();
    const kept = generation === undefined ? undefined : this.answers.get(generation, key);
    if (kept !== undefined) {
      swarm.requireManager();
      return kept;
    }
    const filters = parse(raw); // dockerd: an invalid filter is refused before the manager check
    swarm.requireManager();
    checkFilterKeys(filters, schemas);
    // A list of all, or by labels alone, comes rendered where the store can: one page is kept as
    // any answer; a longer one is streamed, never kept.
    const byLabelsOnly = [...filters.keys()].every((k) => k === 'label');
    const before = store.readGeneration?.();
    const rendered = byLabelsOnly ? store.renderedList?.(toSelection(filters).labels) : undefined;
    if (!rendered) return this.answered(key, async () => JSON.stringify(await this.list(filters)));
    const text = await listText(rendered);
    if (typeof text === 'string' && before !== undefined && store.readGeneration?.() === before) this.answers.set(before, key, text);
    return text;
  }

  /**
   * `read`'s answer, or the one it gave for `key` while the store has not changed since. An
   * answer is kept only if no write committed while it was read, so none is ever older than
   * the generation it is kept under.
   */
  private async answered(key: string, read: () => Promise<string>): Promise<string> {
    const generation = this.deps.store.readGeneration?.();
    if (generation === undefined) return read();
    const kept = this.answers.get(generation, key);
    if (kept !== undefined) return kept;
    const text = await read();
    if (this.deps.store.readGeneration?.() === generation) this.answers.set(generation, key, text);
    return text;
  }

  /** Only labels change; the name must stay and any data sent must equal the stored value. */
  /** Resolves with the secret's ID and name (for the audit log). */
  async update(idOrName: string, version: number, spec: SecretSpecInput, writes?: WriteOptions): Promise<{ id: string; name: string }> {
    const { store, swarm } = this.deps;
    swarm.requireManager();
    return this.onResolved(idOrName, async (current) => {
      if (spec.name !== current.name || (spec.data && spec.data.length > 0 && !(await this.sameValue(current.id, spec.data)))) {
        throw new InvalidArgument('only updates to Labels are allowed');
      }
      await store.updateSecretLabels(current.id, version, spec.labels, rfc3339Nano(), writes);
      return { id: current.id, name: current.name };
    });
  }

  /** Resolves with the removed secret's ID and name (for the audit log). */
  async remove(idOrName: string, writes?: WriteOptions): Promise<{ id: string; name: string }> {
    const { store, swarm } = this.deps;
    swarm.requireManager();
    const window = this.deps.recoveryWindowMs;
    const secret = await this.onResolved(idOrName, async (secret) => {
      if (window) {
        // Hidden, not deleted: a writable driver hears of it only when it is purged.
        const now = Date.now();
        const kept = await store.removeToRecovery(secret.id, new Date(now).toISOString(), new Date(now + window).toISOString(), writes);
        if (!kept) throw new SecretNotFound(secret.id);
        return secret;
      }
      if (!(await store.deleteSecret(secret.id, writes))) throw new SecretNotFound(secret.id); // lost a race with another delete
      return secret;
    });
    if (!window && secret.driver?.Name) await this.tellRemoved(secret.driver.Name, secretInfo(secret));
    return { id: secret.id, name: secret.name };
  }

  /**
   * Runs `write` on the secret `idOrName` resolves to. With a store's recent view it first tries
   * the secret that view names, without a quorum read: a write that succeeds found the secret
   * there (its transaction requires it), which is what a linearizable resolve would have found,
   * since IDs and names never change. When the view was behind (the secret is gone, or a refusal
   * rested on it), it resolves again, linearizably, and writes once more.
   */
  private async onResolved<T>(idOrName: string, write: (secret: SecretRecord) => Promise<T>): Promise<T> {
    const { store } = this.deps;
    const recent = store.recentSecrets && (await resolveRecent(store.recentSecrets, idOrName));
    if (recent) {
      try {
        return await write(recent);
      } catch (e) {
        if (!(e instanceof SecretNotFound) && !(e instanceof InvalidArgument)) throw e;
      }
    }
    return write(await resolveSecret(store, idOrName));
  }

  /** A writable driver hears of the delete; its failure is logged, since the secret is gone either way. */
  private async tellRemoved(driverName: string, info: SecretInfo): Promise<void> {
    try {
      const driver = await this.deps.drivers.secretDriver(driverName);
      await driver?.removed?.(info);
    } catch (e) {
      this.deps.log.warn(
        { driver: driverName, secret: info.id, err: isSecretdError(e) ? e.code : (e as Error)?.name },
        'driver failed to handle a removed secret',
      );
    }
  }

  private validateName(name: string): void {
    if (!name) throw new InvalidArgument('name must be provided');
    if (!this.deps.schemas.validator('secret-spec.json#/$defs/name')(name)) throw new InvalidArgument(INVALID_NAME);
  }

  /** Constant-time comparison with the stored value, as swarmkit does. */
  private async sameValue(id: string, data: Uint8Array): Promise<boolean> {
    const current = await this.deps.store.getSecret(id);
    if (!current?.sealed) return false;
    const stored = await openSealed(this.deps.keys, { ...current, sealed: current.sealed });
    return stored.length === data.length && timingSafeEqual(stored, data);
  }
}

function secretInfo(r: { id: string; name: string; labels: Record<string, string>; driver?: { Options?: Record<string, string> } }): SecretInfo {
  return { id: r.id, name: r.name, labels: { ...r.labels }, options: { ...r.driver?.Options } };
}

/**
 * A driver's plain Error becomes a domain error worded by the driver: a refusal at validate is
 * the client's 400; a failure to store is the driver's (502).
 */
async function driverCall(driver: SecretDriver, fn: () => unknown, as: 'refused' | 'failed' = 'refused'): Promise<void> {
  try {
    await fn();
  } catch (e) {
    if (isSecretdError(e)) throw e;
    const message = e instanceof Error ? e.message : String(e);
    throw as === 'refused' ? new InvalidRequest(`secret driver ${driver.name}: ${message}`) : new DriverFailed(driver.name, message);
  }
}
