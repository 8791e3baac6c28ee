/**
 * The VolumeDriver protocol (moby docs/extend/plugins_volume.md): Create, Remove, Mount,
 * Unmount, Path, Get, List and Capabilities (`Scope: local`: a volume lives on this engine). The
 * volumes themselves are volumes.ts; each file's value is resolved on the one path
 * (src/delivery/resolve-value.ts) with the --plugin-allow patterns as scope, one audit line per
 * file naming the volume (at every Mount that fills it and every refresh). A refusal is `Err`,
 * which dockerd shows to the user.
 */
import type { Peer } from '../audit/events.ts';
import type { DeliveryEvent, ValueResolver } from '../delivery/resolve-value.ts';
import { allows } from '../delivery/tokens.ts';
import type { DeliveryContext } from '../delivery/types.ts';
import type { Store } from '../store/types.ts';
import type { SchemaRegistry } from '../schemas.ts';
import { isSecretdError } from '../core/errors.ts';
import type { Answer, Handler } from './server.ts';
import { parseVolumeOptions, VolumeOptionError, type VolumeFile } from './volume-options.ts';
import { TmpfsError } from './tmpfs.ts';
import { VolumeError, type CurrentValues, type FileValue, type VolumeRecord, type Volumes, type Written } from './volumes.ts';

/** No task stands behind a volume: templates see empty Service, Node and Task fields. */
const NO_TASK: DeliveryContext = {
  service: { ID: '', Name: '', Labels: {}, Hostname: '' },
  node: { ID: '', Hostname: '', Platform: { OS: '', Architecture: '' } },
  task: { ID: '', Name: '', Slot: '' },
  env: [],
  secrets: [],
};

/** Resolves a volume's files for its first Mount or a refresh, each one an audited delivery (a pinned file at its version). */
export function volumeResolver(resolver: ValueResolver, allow: readonly string[], peer: Peer) {
  return async (volume: string, files: VolumeFile[]): Promise<FileValue[]> => {
    const out: FileValue[] = [];
    try {
      for (const f of files) {
        const event: DeliveryEvent = { peer, secret: f.secret, volume, result: 'delivered' };
        const got = await resolver.resolve(event, () => ({
          scope: allow,
          ref: f.secret,
          match: 'name',
          context: NO_TASK,
          ...(f.version === undefined ? {} : { version: f.version }),
        }));
        out.push({ file: f.file, value: got.value, written: { id: got.secret.id, ...(got.version === undefined ? {} : { version: got.version }) } });
      }
    } catch (e) {
      for (const v of out) v.value.fill(0);
      throw e;
    }
    return out;
  };
}

/**
 * What each named secret's current value is, for the refresh check (volumes.ts): its ID and value
 * version, from the store's metadata alone (no value is opened). Exact names within --plugin-allow
 * only, as the resolver would find them; a driver's value has no version and is not followed.
 */
export function currentValues(store: Store, allow: readonly string[]): CurrentValues {
  return async (names) => {
    const wanted = new Set(names);
    const out = new Map<string, Written>();
    if (names.length === 0) return out;
    for (const s of await store.findSecrets({ names })) {
      if (!wanted.has(s.name) || !allows({ allow: [...allow] }, s.name)) continue;
      out.set(s.name, s.driver?.Name ? { id: s.id } : { id: s.id, version: s.valueVersion ?? 1 });
    }
    return out;
  };
}

export function volumeHandlers(volumes: Volumes, schemas: SchemaRegistry): Record<string, Handler> {
  const create = schemas.validator('plugin-volume.json#/$defs/create');
  const named = schemas.validator('plugin-volume.json#/$defs/named');
  const empty = schemas.validator('plugin-volume.json#/$defs/empty');
  const withName = (method: string, fn: (name: string, id: string) => Promise<object>): Handler =>
    guarded(method, named, (b) => fn((b as { Name: string }).Name, (b as { ID?: string }).ID ?? ''));
  return {
    'VolumeDriver.Create': guarded('VolumeDriver.Create', create, async (b) => {
      const { Name, Opts } = b as { Name: string; Opts?: Record<string, string> | null };
      await volumes.create(Name, parseVolumeOptions(Opts));
      return {};
    }),
    'VolumeDriver.Remove': withName('VolumeDriver.Remove', async (name) => {
      await volumes.remove(name);
      return {};
    }),
    'VolumeDriver.Mount': withName('VolumeDriver.Mount', async (name, id) => ({ Mountpoint: await volumes.mount(name, id) })),
    'VolumeDriver.Unmount': withName('VolumeDriver.Unmount', async (name, id) => {
      await volumes.unmount(name, id);
      return {};
    }),
    'VolumeDriver.Path': withName('VolumeDriver.Path', async (name) => ({ Mountpoint: volumes.path(name) })),
    'VolumeDriver.Get': withName('VolumeDriver.Get', async (name) => ({ Volume: view(volumes, volumes.get(name)) })),
    'VolumeDriver.List': guarded('VolumeDriver.List', empty, async () => ({ Volumes: volumes.list().map((r) => view(volumes, r)) })),
    'VolumeDriver.Capabilities': guarded('VolumeDriver.Capabilities', empty, async () => ({ Capabilities: { Scope: 'local' } })),
  };
}

/** Get and List: the name, the folder while mounted, and what it holds (names, owner, mode — no value). */
function view(volumes: Volumes, r: VolumeRecord): object {
  const o = r.options;
  return {
    Name: r.name,
    Mountpoint: volumes.path(r.name),
    CreatedAt: r.createdAt,
    Status: {
      Secrets: o.files.map((f) => (f.file === f.secret ? f.secret : `${f.secret}:${f.file}`)).join(','),
      UID: o.uid,
      GID: o.gid,
      Mode: `0${o.mode.toString(8)}`,
      Mounts: r.mounts.length,
      ...(o.files[0]?.version === undefined ? {} : { Version: o.files[0].version }),
    },
  };
}

type Validator = ((v: unknown) => boolean) & { errors?: { instancePath: string; message?: string }[] | null };

/** Checks the body's shape, runs `fn`, and turns its refusals into `Err` (a bug into a bare message). */
function guarded(method: string, valid: Validator, fn: (body: unknown) => Promise<object>): Handler {
  return async (body): Promise<Answer> => {
    if (!valid(body)) {
      const e = valid.errors?.[0];
      return { status: 400, body: { Err: `${method}: invalid request: ${e?.instancePath || '/'} ${e?.message ?? 'is not valid'}` } };
    }
    try {
      return { body: { ...(await fn(body)), Err: '' } };
    } catch (e) {
      if (e instanceof VolumeError || e instanceof VolumeOptionError || e instanceof TmpfsError || isSecretdError(e)) return { body: { Err: e.message } };
      throw e;
    }
  };
}
