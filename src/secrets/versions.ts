/**
 * Rotation: a secret's value has versions, 1 being the value it was created with. A rotate
 * seals a new version under its own data key and makes it current; a rollback makes a kept
 * version current again. The Engine API never sees any of it beyond the record's `Version.Index`
 * and `UpdatedAt`, which every change advances (docs/rotation.md): the value stays immutable
 * there, as Swarm has it. Version numbers are never reused, and at most `keep` versions are kept.
 */
import { randomInt } from 'node:crypto';
import type { KeyService } from '../crypto/keys.ts';
import type { Store, ValueVersionInfo, WriteOptions } from '../store/types.ts';
import type { SwarmService } from '../swarm/service.ts';
import { rfc3339Nano } from '../core/clock.ts';
import { InvalidRequest, isSecretdError, VersionNotFound } from '../core/errors.ts';
import { resolveSecret } from './resolve.ts';
import { valueContext } from '../crypto/seal-binding.ts';
import { MAX_SECRET_SIZE } from '../drivers/kit.ts';
import type { SecretRecord } from './types.ts';

/**
 * Rotates that lose the race for a version number seal again, up to this many times. Each loss
 * is another rotate's win, so N racing rotates all finish within N attempts; the bound is only
 * against a pathological writer, and a short random pause spreads the retries out.
 */
const ROTATE_ATTEMPTS = 100;

export interface VersionsDeps {
  store: Store;
  swarm: SwarmService;
  keys: KeyService;
  /** Most versions kept per secret (the current one included): --keep-versions. */
  keep: number;
  /** Told when a kept value becomes current again (KeyRotation.keptValueMoved). */
  keptValueMoved?: () => void;
  /** Told after every change of a secret's current value (volumes refresh their files). */
  onValueChanged?: (secret: { id: string; name: string }) => void;
}

/** The secret acted on, as the audit log and the answer name it. */
export interface Acted {
  id: string;
  name: string;
}

export interface Rotated {
  secret: Acted;
  version: number;
  previous: number;
  dropped: number[];
}

export interface RolledBack {
  secret: Acted;
  version: number;
  previous: number;
}

export class SecretVersions {
  private readonly deps: VersionsDeps;
  constructor(deps: VersionsDeps) {
    this.deps = deps;
  }

  /** Every kept version of the secret `ref` names (ID, name or unique ID prefix, as dockerd resolves). */
  async list(ref: string): Promise<{ secret: Acted; versions: ValueVersionInfo[] }> {
    this.deps.swarm.requireManager();
    const secret = await resolveSecret(this.deps.store, ref);
    const versions = await this.deps.store.listValueVersions(secret.id);
    if (!versions) return { secret: acted(secret), versions: [] }; // removed meanwhile
    return { secret: acted(secret), versions };
  }

  /** Stores `value` as the next version of `ref` and makes it current. */
  async rotate(ref: string, value: Uint8Array, noteSecret: (s: Acted) => void = () => {}, writes?: WriteOptions): Promise<Rotated> {
    const { store, swarm, keys, keep } = this.deps;
    swarm.requireManager();
    let secret = await resolveSecret(store, ref);
    noteSecret(acted(secret));
    if (secret.driver?.Name) {
      throw new InvalidRequest(`secret ${secret.name} takes its value from driver ${secret.driver.Name}: rotate it there`);
    }
    if (value.length === 0 || value.length >= MAX_SECRET_SIZE) {
      throw new InvalidRequest(`a secret's value must be larger than 0 and less than ${MAX_SECRET_SIZE} bytes`);
    }
    for (let attempt = 1; ; attempt++) {
      const previous = secret.valueVersion ?? 1;
      const version = (secret.latestValueVersion ?? previous) + 1;
      const createdAt = rfc3339Nano();
      try {
        const { dropped } = await keys.sealThen(value, valueContext(secret, version), (sealed) =>
          store.rotateValue(secret.id, { version, createdAt, sealed }, keep, createdAt, writes),
        );
        this.deps.onValueChanged?.(acted(secret));
        return { secret: acted(secret), version, previous, dropped };
      } catch (e) {
        // Another rotate took this number first: seal again under the next one.
        if (!isSecretdError(e) || e.code !== 'out_of_sequence' || attempt >= ROTATE_ATTEMPTS) throw e;
        await new Promise((r) => setTimeout(r, randomInt(Math.min(attempt, 10) * 2 + 1)));
        secret = await resolveSecret(store, secret.id);
      }
    }
  }

  /** Makes kept version `version` of `ref` current again. */
  async rollback(ref: string, version: number, noteSecret: (s: Acted) => void = () => {}, writes?: WriteOptions): Promise<RolledBack> {
    const { store, swarm } = this.deps;
    swarm.requireManager();
    const secret = await resolveSecret(store, ref);
    noteSecret(acted(secret));
    const previous = secret.valueVersion ?? 1;
    try {
      this.deps.keptValueMoved?.();
      await store.rollbackValue(secret.id, version, rfc3339Nano(), writes);
    } catch (e) {
      // The store names the secret by ID; the user named it, most likely by name.
      if (e instanceof VersionNotFound) throw new VersionNotFound(secret.name, version);
      throw e;
    }
    if (version !== previous) this.deps.onValueChanged?.(acted(secret));
    return { secret: acted(secret), version, previous };
  }
}

function acted(s: SecretRecord): Acted {
  return { id: s.id, name: s.name };
}
