/** /swarm, /swarm/init, /swarm/update, /swarm/leave, autolock's unlock and unlockkey, and the one node a secretd swarm has (/nodes). */
import type { Context, Hono } from 'hono';
import type { SchemaRegistry } from '../../schemas.ts';
import type { Cluster, SwarmService } from '../../swarm/service.ts';
import { SECRETD_VERSION, ENGINE_VERSION } from '../../version.ts';
import { InvalidRequest } from '../../core/errors.ts';
import { parseFilters } from '../../secrets/filters.ts';
import { NODE_FILTERS_SCHEMA, nodeSelector } from '../../swarm/node-filters.ts';
import { apiVersion } from '../api-version.ts';
import { noteChange, type Audited } from '../audit.ts';
import { decodeBody } from '../decode.ts';
import type { EdgeEnv } from '../env.ts';
import { formValue, parseForm } from '../form.ts';
import { empty, json } from '../respond.ts';
import { hostInfo } from './system.ts';

export function swarmRoutes(app: Hono<EdgeEnv>, swarm: SwarmService, schemas: SchemaRegistry, audited: Audited): void {
  const v = apiVersion();

  app.get('/swarm', v, (c) => {
    const cluster = swarm.requireManager();
    return json(c, { ...clusterView(cluster), JoinTokens: joinTokensView(cluster) });
  });

  app.post('/swarm/init', audited('swarm.init'), v, async (c) => {
    const req = await decodeBody(c, schemas, 'swarm-init.json');
    const spec = req?.Spec;
    const nodeId = await swarm.init({
      listenAddr: req?.ListenAddr ?? undefined,
      advertiseAddr: req?.AdvertiseAddr ?? undefined,
      autoLockManagers: req?.AutoLockManagers ?? undefined,
      specName: spec?.Name ?? undefined,
      labels: spec?.Labels ? stringMap(spec.Labels) : undefined,
    });
    return json(c, nodeId);
  });

  // dockerd's order: body, version, flags (all 400s), then the cluster's own checks.
  app.post('/swarm/update', audited('swarm.update'), v, async (c) => {
    const spec = await decodeBody(c, schemas, 'swarm-spec.json');
    const raw = formValue(c, 'version') ?? '';
    if (!/^\d+$/.test(raw) || BigInt(raw) > 0xffffffffffffffffn) {
      throw new InvalidRequest(
        `invalid swarm version '${raw}': strconv.ParseUint: parsing ${JSON.stringify(raw)}: ${/^\d+$/.test(raw) ? 'value out of range' : 'invalid syntax'}`,
      );
    }
    const update = {
      version: Number(raw),
      specName: spec?.Name ?? undefined,
      labels: stringMap(spec?.Labels),
      autoLockManagers: spec?.EncryptionConfig?.AutoLockManagers ?? false,
      rotateWorkerToken: parseBool(c, 'rotateWorkerToken'),
      rotateManagerToken: parseBool(c, 'rotateManagerToken'),
      rotateManagerUnlockKey: parseBool(c, 'rotateManagerUnlockKey'),
    };
    // The audit line says what was asked: autolock's state after, and each rotation requested.
    noteChange(c, { autolock: update.autoLockManagers ? 'on' : 'off' });
    if (update.rotateWorkerToken) noteChange(c, { rotateWorkerToken: true });
    if (update.rotateManagerToken) noteChange(c, { rotateManagerToken: true });
    if (update.rotateManagerUnlockKey) noteChange(c, { rotateManagerUnlockKey: true });
    await swarm.update(update);
    return empty(c);
  });

  app.get('/swarm/unlockkey', v, (c) => json(c, { UnlockKey: swarm.unlockKey() }));

  app.post('/swarm/unlock', audited('swarm.unlock'), v, async (c) => {
    const req = await decodeBody(c, schemas, 'swarm-unlock.json');
    swarm.unlock(req?.UnlockKey ?? '');
    return empty(c);
  });

  app.post('/swarm/leave', audited('swarm.leave'), v, async (c) => {
    await swarm.leave(boolValue(c, 'force'));
    return empty(c);
  });

  // dockerd's order: the query (400), the filters' JSON (400), the 503 out of swarm, then the keys and values.
  app.get('/nodes', v, (c) => {
    parseForm(c);
    const filters = parseFilters(formValue(c, 'filters'), schemas, NODE_FILTERS_SCHEMA);
    const cluster = swarm.requireManager();
    const selected = nodeSelector(filters, schemas);
    const node = nodeView(cluster);
    const facts = {
      id: node.ID,
      hostname: node.Description.Hostname,
      role: node.Spec.Role,
      membership: 'accepted',
      engineLabels: node.Description.Engine.Labels,
      labels: node.Spec.Labels,
    } as const;
    return json(c, selected(facts) ? [node] : []);
  });

  app.get('/nodes/:id', v, (c) => {
    const cluster = swarm.requireManager();
    const id = c.req.param('id');
    const host = hostInfo();
    if (id !== cluster.nodeId && !(id.length > 0 && cluster.nodeId.startsWith(id)) && id !== host.name) {
      return json(c, { message: `node ${id} not found` }, 404);
    }
    return json(c, nodeView(cluster));
  });
}

/** Go's strconv.ParseBool, as dockerd reads the rotate flags of /swarm/update: absent is false. */
function parseBool(c: Context<EdgeEnv>, key: string): boolean {
  const s = formValue(c, key);
  if (s === undefined || s === '') return false;
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false;
  throw new InvalidRequest(`invalid value for ${key}: ${s}`);
}

/** A Go map[string]string: null is empty, a null value is "". */
function stringMap(v: { [key: string]: string | null } | null | undefined): Record<string, string> {
  if (!v) return {};
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, x ?? '']));
}

/** moby's httputils.BoolValue: anything but "", 0, no, false and none is true. */
function boolValue(c: Context<EdgeEnv>, key: string): boolean {
  const s = (formValue(c, key) ?? '').trim().toLowerCase();
  return !['', '0', 'no', 'false', 'none'].includes(s);
}

/** The Cluster object, as in GET /swarm and in /info's Swarm.Cluster (without join tokens). */
export function clusterView(c: Cluster) {
  return {
    ID: c.id,
    Version: { Index: c.version },
    CreatedAt: c.createdAt,
    UpdatedAt: c.updatedAt,
    Spec: {
      Name: 'default',
      Labels: c.labels,
      Orchestration: { TaskHistoryRetentionLimit: 5 },
      Raft: { SnapshotInterval: 10000, KeepOldSnapshots: 0, LogEntriesForSlowFollowers: 500, ElectionTick: 10, HeartbeatTick: 1 },
      Dispatcher: { HeartbeatPeriod: 5000000000 },
      CAConfig: { NodeCertExpiry: 7776000000000000 },
      TaskDefaults: {},
      EncryptionConfig: { AutoLockManagers: c.autoLockManagers },
    },
    TLSInfo: { TrustRoot: '', CertIssuerSubject: '', CertIssuerPublicKey: '' },
    RootRotationInProgress: false,
    DefaultAddrPool: ['10.0.0.0/8'],
    SubnetSize: 24,
    DataPathPort: 4789,
  };
}

function joinTokensView(c: Cluster) {
  return { Worker: c.joinTokens.worker, Manager: c.joinTokens.manager };
}

function nodeView(c: Cluster) {
  const host = hostInfo();
  return {
    ID: c.nodeId,
    Version: { Index: c.version },
    CreatedAt: c.createdAt,
    UpdatedAt: c.updatedAt,
    Spec: { Labels: {} as Record<string, string>, Role: 'manager' as const, Availability: 'active' },
    Description: {
      Hostname: host.name,
      Platform: { Architecture: host.machine, OS: 'linux' },
      Resources: { NanoCPUs: host.cpus * 1e9, MemoryBytes: host.memory },
      Engine: { EngineVersion: ENGINE_VERSION, Labels: { 'secretd.version': SECRETD_VERSION } as Record<string, string> },
    },
    Status: { State: 'ready', Addr: c.advertiseAddr.replace(/:\d+$/, '') },
    ManagerStatus: { Leader: true, Reachability: 'reachable', Addr: c.advertiseAddr },
  };
}
