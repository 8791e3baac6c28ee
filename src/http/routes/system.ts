/** /_ping, /version and /info: what clients read to negotiate and to check swarm membership. */
import type { Hono } from 'hono';
import { arch, availableParallelism, hostname, release, totalmem } from 'node:os';
import { SwarmLocked } from '../../core/errors.ts';
import type { SwarmService } from '../../swarm/service.ts';
import { API_VERSION, ENGINE_VERSION, MIN_API_VERSION } from '../../version.ts';
import { apiVersion } from '../api-version.ts';
import type { EdgeEnv } from '../env.ts';
import { answer, json } from '../respond.ts';
import { clusterView } from './swarm.ts';

export interface SystemInfo {
  dataRoot: string;
  storeKind: string;
  /** `sqlite`, or the `etcd://…` URL the daemon was started with. */
  storeUrl?: string;
  startedAt: string;
}

/** Go's GOARCH and uname's machine name for Node's arch. */
const ARCH: Record<string, [goarch: string, machine: string]> = {
  x64: ['amd64', 'x86_64'],
  arm64: ['arm64', 'aarch64'],
  arm: ['arm', 'armv7l'],
  ppc64: ['ppc64le', 'ppc64le'],
  s390x: ['s390x', 's390x'],
};

const [GOARCH, MACHINE] = ARCH[arch()] ?? [arch(), arch()];

/**
 * The CPUs this process may run on, as Go's runtime.NumCPU() counts them for dockerd's NCPU (the
 * affinity mask). One system call, where os.cpus() reads and parses /proc/cpuinfo.
 */
export function hostInfo() {
  return { name: hostname(), goarch: GOARCH, machine: MACHINE, kernel: release(), cpus: availableParallelism(), memory: totalmem() };
}

export function systemRoutes(app: Hono<EdgeEnv>, swarm: SwarmService, info: SystemInfo): void {
  const v = apiVersion();

  app.get('/_ping', v, (c) =>
    answer(c, 'OK', 200, {
      'Content-Type': 'text/plain; charset=utf-8',
      'Cache-Control': 'no-cache, no-store, must-revalidate',
      Pragma: 'no-cache',
      Swarm: swarm.pingState,
      'Builder-Version': '2',
    }),
  );

  app.get('/version', v, (c) => {
    // Not hostInfo(): /version has no use for the host's name, CPUs or memory.
    const kernel = release();
    const details = {
      ApiVersion: API_VERSION,
      Arch: GOARCH,
      BuildTime: info.startedAt,
      Experimental: 'false',
      GitCommit: 'secretd',
      GoVersion: `node${process.versions.node}`,
      KernelVersion: kernel,
      MinAPIVersion: MIN_API_VERSION,
      Os: 'linux',
    };
    return json(c, {
      Platform: { Name: 'secretd' },
      Components: [{ Name: 'Engine', Version: ENGINE_VERSION, Details: details }],
      Version: ENGINE_VERSION,
      ApiVersion: API_VERSION,
      MinAPIVersion: MIN_API_VERSION,
      GitCommit: details.GitCommit,
      GoVersion: details.GoVersion,
      Os: 'linux',
      Arch: GOARCH,
      KernelVersion: kernel,
      BuildTime: info.startedAt,
    });
  });

  app.get('/info', v, (c) => {
    const host = hostInfo();
    const cluster = swarm.cluster;
    // A locked node shows what dockerd shows: its address, the lock as the error, no cluster.
    const swarmInfo = swarm.locked
      ? {
          NodeID: '',
          NodeAddr: cluster!.advertiseAddr.replace(/:\d+$/, ''),
          LocalNodeState: 'locked',
          ControlAvailable: false,
          Error: new SwarmLocked().message,
          RemoteManagers: null,
        }
      : cluster
        ? {
            NodeID: cluster.nodeId,
            NodeAddr: cluster.advertiseAddr.replace(/:\d+$/, ''),
            LocalNodeState: 'active',
            ControlAvailable: true,
            Error: '',
            RemoteManagers: [{ NodeID: cluster.nodeId, Addr: cluster.advertiseAddr }],
            Nodes: 1,
            Managers: 1,
            Cluster: clusterView(cluster),
          }
        : { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null };
    return json(c, {
      ID: (!swarm.locked && cluster?.nodeId) || '',
      Containers: 0,
      ContainersRunning: 0,
      ContainersPaused: 0,
      ContainersStopped: 0,
      Images: 0,
      Driver: info.storeKind,
      DriverStatus: [['Store', info.storeKind], ...(info.storeUrl ? [['Store URL', info.storeUrl]] : [])],
      Plugins: { Volume: [], Network: [], Authorization: null, Log: [] },
      MemoryLimit: false,
      SwapLimit: false,
      NCPU: host.cpus,
      MemTotal: host.memory,
      DockerRootDir: info.dataRoot,
      Name: host.name,
      Labels: [],
      ExperimentalBuild: false,
      ServerVersion: ENGINE_VERSION,
      OperatingSystem: 'secretd',
      OSType: 'linux',
      OSVersion: '',
      KernelVersion: host.kernel,
      Architecture: host.machine,
      IndexServerAddress: '',
      RegistryConfig: null,
      Swarm: swarmInfo,
      LiveRestoreEnabled: false,
      Isolation: '',
      InitBinary: '',
      SecurityOptions: [],
      Warnings: null,
    });
  });
}
