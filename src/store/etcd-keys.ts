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
 *   secretd/kept/<id>/<version>  a kept value that is not a live secret's current one (an older
 *                                version, or any version of a removed secret): a JSON header
 *                                (encodeKept), a newline, then the sealed bytes; the version has
 *                                ten digits, so keys sort in version order
 *   secretd/removed/<id>         a secret in its recovery window: metadata JSON with its version
 *                                and removedAt/purgeAfter (encodeRemoved); outside the secrets'
 *                                range, so the cache and the name index never see it
 *   secretd/removed-names/<lower(name)>/<id>   empty: findRemoved by name
 *   secretd/removed-due/<purgeAfter>/<id>      empty: expiredRemoved, soonest first
 *
 * Nothing may be named `secrets<anything>`: the cache watches every key from `secrets` to
 * `secrets0` (prefixEnd of `secrets/`), which includes `secrets-x` and `secrets.x`.
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

  /** A kept value of secret `id`. */
  kept(id: string, version: number): Buffer {
    return Buffer.from(`${this.root}kept/${id}/${String(version).padStart(10, '0')}`);
  }

  /** The start of the range of every kept value of secret `id`, or of every secret when absent. */
  keptOf(id?: string): Buffer {
    return Buffer.from(`${this.root}kept/${id === undefined ? '' : `${id}/`}`);
  }

  /** The secret ID and version of a `kept/<id>/<version>` key. */
  keptIdOf(key: Buffer): { secretId: string; version: number } {
    const rest = key.subarray(this.keptOf().length).toString();
    const slash = rest.lastIndexOf('/');
    return { secretId: rest.slice(0, slash), version: Number(rest.slice(slash + 1)) };
  }

  removed(id: string): Buffer {
    return Buffer.from(`${this.root}removed/${id}`);
  }

  /** The findRemoved index entry of a removed secret; without `id`, the start of the name's range. */
  removedName(name: string, id = ''): Buffer {
    return Buffer.from(`${this.root}removed-names/${name.toLowerCase()}/${id}`);
  }

  /** The expiredRemoved index entry of a removed secret; without `id`, the start of that time's range. */
  removedDue(purgeAfter: string, id = ''): Buffer {
    return Buffer.from(`${this.root}removed-due/${purgeAfter}${purgeAfter ? '/' : ''}${id}`);
  }

  /** The ID at the end of a `removed-names/…/<id>` or `removed-due/…/<id>` key. */
  lastPart(key: Buffer): string {
    const s = key.toString();
    return s.slice(s.lastIndexOf('/') + 1);
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
  /** All three absent until the first rotate (SecretRecord). */
  valueVersion?: number;
  latestValueVersion?: number;
  valueCreatedAt?: string;
}

function metaOf(r: Omit<SecretRecord, 'id' | 'version' | 'sealed'>): StoredMeta {
  const m: StoredMeta = { name: r.name, labels: r.labels, createdAt: r.createdAt, updatedAt: r.updatedAt };
  if (r.driver) m.driver = r.driver;
  if (r.templating) m.templating = r.templating;
  if (r.valueVersion !== undefined) m.valueVersion = r.valueVersion;
  if (r.latestValueVersion !== undefined) m.latestValueVersion = r.latestValueVersion;
  if (r.valueCreatedAt !== undefined) m.valueCreatedAt = r.valueCreatedAt;
  return m;
}

function recordOf(id: string, version: number, m: StoredMeta): SecretRecord {
  const r: SecretRecord = { id, name: m.name, labels: m.labels, version, createdAt: m.createdAt, updatedAt: m.updatedAt };
  if (m.driver) r.driver = m.driver;
  if (m.templating) r.templating = m.templating;
  if (m.valueVersion !== undefined) r.valueVersion = m.valueVersion;
  if (m.latestValueVersion !== undefined) r.latestValueVersion = m.latestValueVersion;
  if (m.valueCreatedAt !== undefined) r.valueCreatedAt = m.valueCreatedAt;
  return r;
}

export function encodeMeta(r: Omit<SecretRecord, 'id' | 'version' | 'sealed'>): Buffer {
  return Buffer.from(JSON.stringify(metaOf(r)));
}

export function decodeMeta(id: string, version: number, value: Buffer): SecretRecord {
  return recordOf(id, version, JSON.parse(value.toString()) as StoredMeta);
}

/** What `removed/<id>` holds: the metadata, the version it had (its key's revision is another) and the window. */
interface StoredRemoved extends StoredMeta {
  version: number;
  removedAt: string;
  purgeAfter: string;
}

export function encodeRemoved(r: SecretRecord, removedAt: string, purgeAfter: string): Buffer {
  const m: StoredRemoved = { ...metaOf(r), version: r.version, removedAt, purgeAfter };
  return Buffer.from(JSON.stringify(m));
}

export function decodeRemoved(id: string, value: Buffer): { secret: SecretRecord; removedAt: string; purgeAfter: string } {
  const m = JSON.parse(value.toString()) as StoredRemoved;
  return { secret: recordOf(id, m.version, m), removedAt: m.removedAt, purgeAfter: m.purgeAfter };
}

/** The header of a kept value: when it was stored, and its secret's creation time (its seal context). */
export interface KeptHeader {
  createdAt: string;
  secretCreatedAt: string;
}

const NEWLINE = 0x0a;

/** A kept value: its header as JSON (which never holds a raw newline), a newline, the sealed bytes. */
export function encodeKept(h: KeptHeader, sealed: Uint8Array): Buffer {
  const header: KeptHeader = { createdAt: h.createdAt, secretCreatedAt: h.secretCreatedAt };
  return Buffer.concat([Buffer.from(JSON.stringify(header)), Buffer.from([NEWLINE]), sealed]);
}

export function decodeKept(value: Buffer): KeptHeader & { sealed: Buffer } {
  const end = value.indexOf(NEWLINE);
  const h = JSON.parse(value.subarray(0, end).toString()) as KeptHeader;
  return { createdAt: h.createdAt, secretCreatedAt: h.secretCreatedAt, sealed: value.subarray(end + 1) };
}
