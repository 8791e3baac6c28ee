/**
 * Real etcd for tests: one member or a cluster of several on loopback, each on free ports in a
 * temporary folder, started with Debian's `etcd` binary. Members can be stopped (SIGKILL) and
 * started again on the same data dir, which is how the fault tests take them away.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { missing } from './tools.ts';

/** A skip reason when the etcd server binary is not installed, else false. */
export function etcdMissing(): string | false {
  const r = spawnSync('etcd', ['--version'], { stdio: 'ignore', timeout: 20_000 });
  return r.status === 0 ? false : missing('the etcd binary is not installed (apt-get install etcd-server)');
}

export interface EtcdMember {
  name: string;
  /** `127.0.0.1:PORT`, the client address. */
  endpoint: string;
  readonly running: boolean;
  /** The running process's pid (for its CPU time, in the bench). */
  readonly pid: number | undefined;
}

export interface EtcdCluster {
  members: EtcdMember[];
  /** `etcd://127.0.0.1:P1,127.0.0.1:P2…` for `--store`, with an optional key prefix. */
  storeUrl(prefix?: string): string;
  /** SIGKILL to one member; resolves once it has exited. */
  stop(member: EtcdMember): Promise<void>;
  /** Starts a stopped member again on its data dir. */
  start(member: EtcdMember): Promise<void>;
  /**
   * SIGSTOP to one member: it answers nothing, and its clients' connections stay open (a stalled
   * member, not a dead one). `resume` sends SIGCONT.
   */
  pause(member: EtcdMember): void;
  resume(member: EtcdMember): void;
  /** The member that is leader now, as the running members report it (waits for one). */
  leader(timeoutMs?: number): Promise<EtcdMember>;
  /** What a member printed (for failure messages). */
  logs(member: EtcdMember): string;
  dispose(): Promise<void>;
}

/** PEM files: with them the members serve clients over TLS and require a client certificate the CA signed. */
export interface EtcdTls {
  ca: string;
  cert: string;
  key: string;
}

interface Member extends EtcdMember {
  peerPort: number;
  clientPort: number;
  /** Plain HTTP /health beside the client URL, which TLS would guard. */
  metricsPort: number;
  dataDir: string;
  proc?: ChildProcess;
  exited?: Promise<void>;
  output: string;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts `size` members as one new cluster and waits until every one reports healthy. With
 * `tls`, clients must dial them over TLS (`leader()` then finds none: it asks over plain HTTP).
 */
export async function startEtcd(size = 1, opts: { tls?: EtcdTls } = {}): Promise<EtcdCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'secretd-etcd-'));
  const members: Member[] = [];
  for (let i = 0; i < size; i++) {
    const name = `m${i}`;
    const clientPort = await freePort();
    const peerPort = await freePort();
    const metricsPort = await freePort();
    members.push({
      name,
      clientPort,
      peerPort,
      metricsPort,
      endpoint: `127.0.0.1:${clientPort}`,
      dataDir: join(dir, name),
      output: '',
      get running() {
        return this.proc !== undefined && this.proc.exitCode === null && this.proc.signalCode === null;
      },
      get pid() {
        return this.running ? this.proc?.pid : undefined;
      },
    });
  }
  const initialCluster = members.map((m) => `${m.name}=http://127.0.0.1:${m.peerPort}`).join(',');
  const token = `secretd-test-${randomBytes(8).toString('hex')}`;

  const launch = (m: Member) => {
    const client = `${opts.tls ? 'https' : 'http'}://127.0.0.1:${m.clientPort}`;
    const tls = opts.tls ? ['--cert-file', opts.tls.cert, '--key-file', opts.tls.key, '--trusted-ca-file', opts.tls.ca, '--client-cert-auth'] : [];
    const peer = `http://127.0.0.1:${m.peerPort}`;
    // The data dir remembers the cluster: on a restart the --initial-* flags are ignored.
    const proc = spawn(
      'etcd',
      [
        '--name',
        m.name,
        '--data-dir',
        m.dataDir,
        '--listen-client-urls',
        client,
        '--advertise-client-urls',
        client,
        '--listen-peer-urls',
        peer,
        '--initial-advertise-peer-urls',
        peer,
        '--initial-cluster',
        initialCluster,
        '--initial-cluster-state',
        'new',
        '--initial-cluster-token',
        token,
        '--listen-metrics-urls',
        `http://127.0.0.1:${m.metricsPort}`,
        ...tls,
        '--log-level',
        'warn',
        '--logger',
        'zap',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    m.output = '';
    proc.stdout?.on('data', (c: Buffer) => (m.output = (m.output + c.toString()).slice(-20_000)));
    proc.stderr?.on('data', (c: Buffer) => (m.output = (m.output + c.toString()).slice(-20_000)));
    m.proc = proc;
    m.exited = new Promise((resolve) => proc.on('exit', () => resolve()));
  };

  const healthy = async (m: Member, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!m.running) throw new Error(`etcd ${m.name} exited:\n${m.output}`);
      try {
        const res = await fetch(`http://127.0.0.1:${m.metricsPort}/health`, { signal: AbortSignal.timeout(2000) });
        const body = (await res.json()) as { health?: string };
        if (body.health === 'true') return;
      } catch {
        // not up yet
      }
      await sleep(100);
    }
    throw new Error(`etcd ${m.name} not healthy in ${timeoutMs} ms:\n${m.output}`);
  };

  const stop = async (m: Member) => {
    if (!m.running) return;
    m.proc!.kill('SIGCONT'); // a paused member still exits
    m.proc!.kill('SIGKILL');
    await m.exited;
  };

  const status = async (m: Member): Promise<{ member: string; leader: string } | undefined> => {
    try {
      const res = await fetch(`http://${m.endpoint}/v3/maintenance/status`, {
        method: 'POST',
        body: '{}',
        signal: AbortSignal.timeout(2000),
      });
      const body = (await res.json()) as { header?: { member_id?: string }; leader?: string };
      if (!body.header?.member_id || !body.leader || body.leader === '0') return undefined;
      return { member: body.header.member_id, leader: body.leader };
    } catch {
      return undefined;
    }
  };

  const cluster: EtcdCluster = {
    members,
    storeUrl: (prefix) => `etcd://${members.map((m) => m.endpoint).join(',')}${prefix ? `/${prefix}` : ''}`,
    stop: (m) => stop(m as Member),
    async start(m) {
      launch(m as Member);
      await healthy(m as Member, 30_000);
    },
    pause: (m) => void (m as Member).proc?.kill('SIGSTOP'),
    resume: (m) => void (m as Member).proc?.kill('SIGCONT'),
    async leader(timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        for (const m of members.filter((x) => x.running)) {
          const s = await status(m);
          if (s && s.member === s.leader) return m;
        }
        await sleep(100);
      }
      throw new Error(`no etcd leader within ${timeoutMs} ms`);
    },
    logs: (m) => (m as Member).output,
    async dispose() {
      await Promise.all(members.map(stop));
      rmSync(dir, { recursive: true, force: true });
    },
  };

  try {
    for (const m of members) launch(m);
    await Promise.all(members.map((m) => healthy(m, 30_000)));
  } catch (e) {
    await cluster.dispose();
    throw e;
  }
  return cluster;
}
