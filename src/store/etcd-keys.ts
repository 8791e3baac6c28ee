/**
 * Where the etcd store keeps what, below one key prefix (so deployments and tests can share an
 * etcd), and how a secret's metadata is encoded. The layout, for prefix `secretd`:
 *
 *   secretd/secrets              empty; put by every write of a secret, so its mod_revision is
 *                                the last such write's (what a consistent read from the cache
 *                                waits for, src/store/etcd-cache.ts)
 *   secretd/secrets/<id>         metadata JSON (name, labels, drivers, timestamps); its
 *                                mod_revision is the secret's Version.Index
 *   secretd/sealed/<id>          the sealed value (src/crypto/envelope.ts bytes), if any
 *   secretd/names/<lower(name)>  the secret's ID: the case-insensitive uniqueness index
 *   secretd/swarm                the swarm record JSON; its mod_revision is the cluster version
 *   secretd/left                 present while the stored swarm state is "inactive": every write
 *                                requires it absent, in the same transaction
 *   secretd/keyring-check        a value sealed by the first daemon, to refuse a daemon whose
 *                                keyring differs
 *   secretd/tokens/<id>          a consumer token record JSON (its hash only); kept on leave
 */
import type { DriverRef, SecretRecord } from './records.ts';

export class EtcdKeys {
  private readonly root: string;

  /** `prefix` without leading or trailing slashes, e.g. `secretd` or `team-a/secretd`. */
  constructor(prefix: string) {
    this.root = `${prefix}/`;
  }

  secret(id: string): Buffer {
    return Buffer.from(`${this.root}secrets/${id}`);
  }

  /** The start of the range holding every secret whose ID starts with `idPrefix`. */
  secrets(idPrefix = ''): Buffer {
    return this.secret(idPrefix);
  }

  /**
   * The secrets' change marker: every write of a secret puts it in the same transaction, so its
   * mod_revision is the revision of the last change to any secret. It sorts just before the
   * records, so one watch range holds both.
   */
  get secretsMarker(): Buffer {
    return Buffer.from(`${this.root}secrets`);
  }

  sealed(id: string): Buffer {
    return Buffer.from(`${this.root}sealed/${id}`);
  }

  sealedAll(): Buffer {
    return this.sealed('');
  }

  /** The secret ID of a `sealed/<id>` key. */
  sealedIdOf(key: Buffer): string {
    return key.subarray(this.sealedAll().length).toString();
  }

  /** The uniqueness index entry of a name (or, for a prefix, the start of its range). */
  name(name: string): Buffer {
    return Buffer.from(`${this.root}names/${name.toLowerCase()}`);
  }

  token(id: string): Buffer {
    return Buffer.from(`${this.root}tokens/${id}`);
  }

  get swarm(): Buffer {
    return Buffer.from(`${this.root}swarm`);
  }

  get left(): Buffer {
    return Buffer.from(`${this.root}left`);
  }

  get keyringCheck(): Buffer {
    return Buffer.from(`${this.root}keyring-check`);
  }

  /** The ID in a `secrets/<id>` key. */
  idOf(secretKey: Buffer): string {
    return secretKey.toString().slice(this.secret('').length);
  }
}

/**
 * The end of the range of keys that start with `prefix` (exclusive), as etcd's own clients
 * compute it: the last byte below 0xff is incremented and the rest dropped.
 */
export function prefixEnd(prefix: Buffer): Buffer {
  for (let i = prefix.length - 1; i >= 0; i--) {
    if (prefix[i]! < 0xff) {
      const end = Buffer.from(prefix.subarray(0, i + 1));
      end[i]! += 1;
      return end;
    }
  }
  return Buffer.from([0]); // every key from `prefix` on
}

/** What `secrets/<id>` holds: the record without its ID (the key), version (the revision) or value. */
interface StoredMeta {
  name: string;
  labels: Record<string, string>;
  driver?: DriverRef;
  templating?: DriverRef;
  createdAt: string;
  updatedAt: string;
}

export function encodeMeta(r: Omit<SecretRecord, 'id' | 'version' | 'sealed'>): Buffer {
  const m: StoredMeta = { name: r.name, labels: r.labels, createdAt: r.createdAt, updatedAt: r.updatedAt };
  if (r.driver) m.driver = r.driver;
  if (r.templating) m.templating = r.templating;
  return Buffer.from(JSON.stringify(m));
}

export function decodeMeta(id: string, version: number, value: Buffer): SecretRecord {
  const m = JSON.parse(value.toString()) as StoredMeta;
  const r: SecretRecord = { id, name: m.name, labels: m.labels, version, createdAt: m.createdAt, updatedAt: m.updatedAt };
  if (m.driver) r.driver = m.driver;
  if (m.templating) r.templating = m.templating;
  return r;
}
