/**
 * Secrets API benchmark: the same workload against secretd and a reference dockerd, in one run.
 *
 *   npm run bench                                  # 2000 secrets, 16 clients, 1 round
 *   npm run bench -- --rounds 3 --json out.json --min-ratio 0.5
 *   npm run bench -- --help
 *
 * Starts secretd (`npm start` on a temporary socket and data root, via test/helpers/daemon.ts)
 * unless --target-host names a running one; finds the reference dockerd through
 * test/helpers/tools.ts (REF_DOCKER_HOST or unix:///tmp/dockerd/docker.sock); starts the two
 * ceilings of test/bench/ceiling-server.ts (a bare node:http server on a Map, and the same with
 * one fdatasync per batch of writes). Each round runs the five phases (create, inspect by name,
 * list filtered by name, update labels, delete) one by one, each on every side in turn; the
 * tables show each operation's median across rounds, secretd/dockerd, secretd/ceiling
 * (bare+fdatasync for writes, bare for reads; each the median of the rounds' own ratios), and
 * one round per side at each concurrency of the sweep.
 * Everything a run creates carries a per-run tag and is deleted again, on failure and Ctrl-C too.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT, startDaemon, type Daemon } from '../helpers/daemon.ts';
import { etcdMissing, startEtcd, type EtcdCluster } from '../helpers/etcd.ts';
import { referenceDockerd } from '../helpers/tools.ts';
import { startCeiling, type Ceiling } from './ceilings.ts';
import { DAEMON_ENV, runScale } from './scale.ts';
import { checkIdleBefore, duringLine, loadBetween, sampleHost, type HostReport, type HostSample } from './host-load.ts';
import { BenchClient, RequestFailure } from './client.ts';
import { cpuMicros, listenerPid } from './process-cpu.ts';
import { fmtMicros, fmtMs, fmtRate, fmtRatio, formatTable, geometricMean, median, percentile } from './stats.ts';

const OPERATIONS = ['create', 'inspect', 'list', 'update', 'delete'] as const;
type Operation = (typeof OPERATIONS)[number];
const WRITES: ReadonlySet<Operation> = new Set(['create', 'update', 'delete']);

type SideName = 'secretd' | 'dockerd' | 'bare' | 'bare+fdatasync';
/** The ceiling secretd is held against for an operation: durable for writes, bare for reads. */
const ceilingOf = (op: Operation): SideName => (WRITES.has(op) ? 'bare+fdatasync' : 'bare');

const TITLES: Record<Operation, string> = {
  create: 'create',
  inspect: 'inspect by name',
  list: 'list filtered by name',
  update: 'update labels',
  delete: 'delete',
};

const EXPECTED_STATUS: Record<Operation, number> = { create: 201, inspect: 200, list: 200, update: 200, delete: 204 };

/** Label put on every secret of a run (value: the run's tag), for the clean-up sweep. */
const RUN_LABEL = 'secretd-bench.run';

const HELP = `Usage: npm run bench -- [options]

Runs create, inspect by name, list filtered by name, update labels and delete on N secrets
with C concurrent clients against secretd and, when one is reachable, a reference dockerd;
prints ops/s, p50 and p99 latency per operation and the ratio secretd ops/s / dockerd ops/s.
Before it starts anything it samples the host for a second and says whether it was idle; at
the end it says how much CPU other guests took (steal) while it measured.

Options:
  --count N            secrets per round (default 2000)
  --concurrency N      concurrent clients, and keep-alive sockets per daemon (default 16)
  --rounds N           repeat the whole workload N times; the table shows medians (default 1)
  --warmup N           unmeasured warm-up requests per daemon before round 1, spread over the five
                       operations (default 5000: with 100, secretd's first round ran its creates
                       at twice the CPU of the later ones, its JIT not yet done)
  --value-bytes N      size of each secret's random value before base64 (default 256)
  --timeout S          seconds to wait for any one answer before failing (default 30)
  --json FILE          also write the numbers (medians and every round) to FILE as JSON
  --min-ratio X        exit 1 if any operation's ratio is below X (not checked, with a warning,
                       when there is no reference dockerd)
  --sweep LIST         after the rounds, one round per side at each of these client counts
                       (default 1,16,64; "none" for no sweep)
  --no-ceilings        do not start the two bare ceiling servers
  --scale N            instead: fill a fresh secretd (one node process) with N secrets and report
                       fill rate, filtered-list, list-all and inspect latency, RSS and restart time
  --scale-ref URL      with --scale: fill and read this dockerd the same way, beside secretd, the
                       two filling in turns of 5000 (give it a dockerd of its own: it keeps the N
                       secrets)
  --store URL          run secretd on this store: sqlite (default), etcd://HOST:PORT[,...][/PREFIX]
                       (each run uses its own prefix below it, so runs never share names or
                       keyrings), or etcd to start a temporary single-member etcd for the run
  --secretd-arg ARG    extra command-line argument for secretd, repeatable; use the = form for
                       values that start with a dash: --secretd-arg=--store --secretd-arg=etcd
                       (secretd always gets -H, --data-root and --log-level error first)
  --target-host URL    do not start secretd: benchmark the daemon already listening at URL as
                       the "secretd" side (unix:///path.sock or http://host:port); for debugging,
                       e.g. --target-host unix:///tmp/dockerd/docker.sock to check the bench itself
  --ref-host URL       the reference dockerd (default: $REF_DOCKER_HOST, else
                       unix:///tmp/dockerd/docker.sock)
  --no-ref             do not use a reference dockerd even if one is reachable
  -h, --help           show this help

Exit status: 0 when every request got its expected answer (and --min-ratio held), 1 when a
request failed or a ratio was below --min-ratio, 2 on bad usage, 130 when interrupted.`;

interface Config {
  count: number;
  concurrency: number;
  rounds: number;
  warmup: number;
  valueBytes: number;
  timeoutMs: number;
  json: string | undefined;
  minRatio: number | undefined;
  secretdArgs: string[];
  store: string | undefined;
  targetHost: string | undefined;
  refHost: string | undefined;
  noRef: boolean;
  sweep: number[];
  ceilings: boolean;
  scale: number | undefined;
  scaleRef: string | undefined;
}

class UsageError extends Error {}

class Interrupted extends Error {
  constructor() {
    super('interrupted');
    this.name = 'Interrupted';
  }
}

function positiveInt(name: string, text: string, min = 1): number {
  if (!/^\d+$/.test(text) || Number(text) < min) throw new UsageError(`--${name} wants an integer >= ${min}, got ${JSON.stringify(text)}`);
  return Number(text);
}

function parseConfig(argv: string[]): Config | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        count: { type: 'string', default: '2000' },
        concurrency: { type: 'string', default: '16' },
        rounds: { type: 'string', default: '1' },
        warmup: { type: 'string', default: '5000' },
        'value-bytes': { type: 'string', default: '256' },
        timeout: { type: 'string', default: '30' },
        json: { type: 'string' },
        'min-ratio': { type: 'string' },
        'secretd-arg': { type: 'string', multiple: true, default: [] },
        store: { type: 'string' },
        'target-host': { type: 'string' },
        'ref-host': { type: 'string' },
        'no-ref': { type: 'boolean', default: false },
        sweep: { type: 'string', default: '1,16,64' },
        'no-ceilings': { type: 'boolean', default: false },
        scale: { type: 'string' },
        'scale-ref': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  const v = parsed.values;
  if (v.help) return 'help';
  let minRatio: number | undefined;
  if (v['min-ratio'] !== undefined) {
    minRatio = Number(v['min-ratio']);
    if (!Number.isFinite(minRatio) || minRatio < 0 || v['min-ratio'].trim() === '') {
      throw new UsageError(`--min-ratio wants a number >= 0, got ${JSON.stringify(v['min-ratio'])}`);
    }
  }
  if (v.store !== undefined && !/^(sqlite|etcd|etcd:\/\/.+)$/.test(v.store)) {
    throw new UsageError(`--store wants sqlite, etcd or etcd://HOST:PORT[,HOST:PORT...][/PREFIX], got ${JSON.stringify(v.store)}`);
  }
  const valueBytes = positiveInt('value-bytes', v['value-bytes']);
  if (valueBytes >= 512000) throw new UsageError('--value-bytes must stay below 512000 (the Engine API limit)');
  return {
    count: positiveInt('count', v.count),
    concurrency: positiveInt('concurrency', v.concurrency),
    rounds: positiveInt('rounds', v.rounds),
    warmup: positiveInt('warmup', v.warmup, 0),
    valueBytes,
    timeoutMs: positiveInt('timeout', v.timeout) * 1000,
    json: v.json,
    minRatio,
    secretdArgs: v['secretd-arg'],
    store: v.store,
    targetHost: v['target-host'],
    refHost: v['ref-host'],
    noRef: v['no-ref'],
    sweep: v.sweep === 'none' ? [] : v.sweep.split(',').map((c) => positiveInt('sweep', c.trim())),
    ceilings: !v['no-ceilings'],
    scale: v.scale === undefined ? undefined : positiveInt('scale', v.scale),
    scaleRef: v['scale-ref'],
  };
}

// ---------------------------------------------------------------------------------------------
// Interruption: the first SIGINT/SIGTERM stops the workers after their requests in flight and
// lets the clean-up run; a second one exits at once.

let interrupted = false;
let interruptedAt = 0;

function onSignal(signal: NodeJS.Signals): void {
  // One Ctrl-C reaches this process more than once: from the terminal (the whole foreground
  // process group) and relayed by npm and tsx. Only a signal well after the first one counts.
  if (interrupted && Date.now() - interruptedAt < 2000) return;
  if (interrupted) {
    process.stderr.write(`\n${signal} again: exiting without finishing the clean-up\n`);
    process.exit(130);
  }
  interrupted = true;
  interruptedAt = Date.now();
  process.stderr.write(`\n${signal}: stopping after the requests in flight, then deleting what this run created (${signal} again to exit at once)\n`);
}

// ---------------------------------------------------------------------------------------------
// The workload.

interface Item {
  index: number;
  name: string;
  createBody: Buffer;
  id: string;
  version: number;
}

interface PhaseStats {
  count: number;
  wallMs: number;
  opsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** The server process's CPU per request (its /proc times), when its pid is known. */
  cpuUsPerOp: number | undefined;
  /** The same for the side's store processes together (storePids), when it has any. */
  storeCpuUsPerOp: number | undefined;
}

type RoundStats = Record<Operation, PhaseStats>;

interface Side {
  name: SideName;
  /** One letter in secret names, so both sides can even share one daemon (--target-host). */
  letter: string;
  client: BenchClient;
  apiVersion: string;
  version: string;
  /** Secrets this run created on this side and has not deleted yet: ID → name. */
  live: Map<string, string>;
  rounds: RoundStats[];
  /** One round at each concurrency of the sweep. */
  sweep: Map<number, RoundStats>;
  /** Options for a new client at another concurrency. */
  host: string;
  /** The process listening on `host`, for its CPU time; undefined over TCP. */
  pid: number | undefined;
  /** The store's own processes (an etcd this bench started), whose CPU a request costs too. */
  storePids: number[];
}

interface Run {
  cfg: Config;
  tag: string;
  /** Every secret name of the run starts with this. */
  namePrefix: string;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Runs task(0..n-1) on `concurrency` workers. The first failure stops the others (after their
 * requests in flight) and is thrown once all of them are idle; so is an interruption when
 * `stoppable`. Returns each task's latency and the wall time of the whole pool.
 */
async function runPool(
  n: number,
  concurrency: number,
  task: (i: number) => Promise<number>,
  stoppable = true,
): Promise<{ latencies: Float64Array; wallMs: number }> {
  if (stoppable && interrupted) throw new Interrupted();
  const latencies = new Float64Array(n);
  let next = 0;
  let failed = false;
  let failure: unknown;
  const worker = async (): Promise<void> => {
    while (!failed && !(stoppable && interrupted)) {
      const i = next++;
      if (i >= n) return;
      try {
        latencies[i] = await task(i);
      } catch (err) {
        if (!failed) {
          failed = true;
          failure = err;
        }
        return;
      }
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
  const wallMs = performance.now() - started;
  if (failed) throw failure;
  if (stoppable && interrupted) throw new Interrupted();
  return { latencies, wallMs };
}

function filtersQuery(filters: Record<string, Record<string, boolean>>): string {
  return `filters=${encodeURIComponent(JSON.stringify(filters))}`;
}

function makeItems(run: Run, side: Side, roundLabel: string, count: number): Item[] {
  const width = String(Math.max(0, count - 1)).length;
  return Array.from({ length: count }, (_, index) => {
    // Fixed-width numbers: no name is a prefix of another, so the (prefix-matching) name filter
    // must answer exactly one secret.
    const name = `${run.namePrefix}${side.letter}-${roundLabel}-${String(index).padStart(width, '0')}`;
    const spec = {
      Name: name,
      Labels: { [RUN_LABEL]: run.tag },
      Data: randomBytes(run.cfg.valueBytes).toString('base64'),
    };
    return { index, name, createBody: Buffer.from(JSON.stringify(spec)), id: '', version: 0 };
  });
}

/** One request of `op` for `item`; checks the answer and returns its latency in ms. */
async function perform(run: Run, side: Side, op: Operation, item: Item): Promise<number> {
  const c: BenchClient = side.client;
  const expect = EXPECTED_STATUS[op];
  switch (op) {
    case 'create': {
      const path = '/secrets/create';
      const answer = await c.send('POST', path, expect, item.createBody);
      const body = c.parse(answer, 'POST', path);
      const id = isRecord(body) ? body['ID'] : undefined;
      if (typeof id !== 'string' || id === '') c.wrong(answer, 'POST', path, 'answered no ID');
      item.id = id;
      side.live.set(id, item.name);
      return answer.ms;
    }
    case 'inspect': {
      const path = `/secrets/${encodeURIComponent(item.name)}`;
      const answer = await c.send('GET', path, expect);
      const body = c.parse(answer, 'GET', path);
      if (!isRecord(body) || body['ID'] !== item.id) c.wrong(answer, 'GET', path, `answered another secret than ${item.id}`);
      const version = isRecord(body['Version']) ? body['Version']['Index'] : undefined;
      if (typeof version !== 'number' || !Number.isInteger(version)) c.wrong(answer, 'GET', path, 'answered no integer Version.Index');
      item.version = version;
      return answer.ms;
    }
    case 'list': {
      const path = `/secrets?${filtersQuery({ name: { [item.name]: true } })}`;
      const answer = await c.send('GET', path, expect);
      const body = c.parse(answer, 'GET', path);
      if (!Array.isArray(body) || body.length !== 1 || !isRecord(body[0]) || body[0]['ID'] !== item.id) {
        c.wrong(answer, 'GET', path, `did not answer exactly the one secret ${item.id} (${item.name})`);
      }
      return answer.ms;
    }
    case 'update': {
      const path = `/secrets/${item.id}/update?version=${item.version}`;
      const spec = { Name: item.name, Labels: { [RUN_LABEL]: run.tag, 'secretd-bench.updated': String(item.index) } };
      const answer = await c.send('POST', path, expect, Buffer.from(JSON.stringify(spec)));
      return answer.ms;
    }
    case 'delete': {
      const answer = await c.send('DELETE', `/secrets/${item.id}`, expect);
      side.live.delete(item.id);
      return answer.ms;
    }
  }
}

async function runPhase(run: Run, side: Side, op: Operation, items: Item[], concurrency = run.cfg.concurrency): Promise<PhaseStats> {
  const server = side.pid === undefined ? [] : [side.pid];
  const cpuBefore = cpuOf(server);
  const storeBefore = cpuOf(side.storePids);
  const { latencies, wallMs } = await runPool(items.length, concurrency, (i) => perform(run, side, op, items[i]!));
  const perOp = (before: number | undefined, after: number | undefined) =>
    before === undefined || after === undefined ? undefined : (after - before) / items.length;
  return {
    cpuUsPerOp: perOp(cpuBefore, cpuOf(server)),
    storeCpuUsPerOp: perOp(storeBefore, cpuOf(side.storePids)),
    count: items.length,
    wallMs,
    opsPerSec: items.length / (wallMs / 1000),
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
  };
}

/** The CPU of these processes together, in µs; undefined for none, or when one has gone. */
function cpuOf(pids: number[]): number | undefined {
  let sum = 0;
  for (const pid of pids) {
    const us = cpuMicros(pid);
    if (us === undefined) return undefined;
    sum += us;
  }
  return pids.length === 0 ? undefined : sum;
}

async function warmUp(run: Run, side: Side): Promise<void> {
  if (run.cfg.warmup === 0) return;
  const items = makeItems(run, side, 'w', Math.ceil(run.cfg.warmup / OPERATIONS.length));
  for (const op of OPERATIONS) await runPhase(run, side, op, items);
  log(`${side.name}: warmed up with ${items.length * OPERATIONS.length} requests`);
}

/**
 * One round on every side, operation by operation: each side runs the create phase, then each
 * the inspect phase, and so on, so that the same operation is measured on every side within
 * seconds (the machine's load drifts over a run). Sides take turns going first, round by round.
 */
async function runRound(run: Run, sides: Side[], key: string, label: string, round: number, concurrency = run.cfg.concurrency): Promise<RoundStats[]> {
  const order = round % 2 === 0 ? [...sides].reverse() : sides;
  const items = new Map(sides.map((side) => [side, makeItems(run, side, key, run.cfg.count)]));
  const stats = new Map(sides.map((side) => [side, {} as Partial<RoundStats>]));
  for (const op of OPERATIONS) {
    for (const side of order) {
      const s = await runPhase(run, side, op, items.get(side)!, concurrency);
      stats.get(side)![op] = s;
      log(
        `  ${label} ${side.name.padEnd(14)} ${TITLES[op].padEnd(21)} ` +
          `${fmtRate(s.opsPerSec).padStart(6)} ops/s  p50 ${fmtMs(s.p50Ms).padStart(7)} ms  p99 ${fmtMs(s.p99Ms).padStart(7)} ms` +
          (s.cpuUsPerOp === undefined ? '' : `  cpu ${fmtMicros(s.cpuUsPerOp).padStart(5)} µs/op`),
      );
    }
  }
  return sides.map((side) => stats.get(side) as RoundStats);
}

/** One round on every side with `concurrency` clients each, on their own keep-alive sockets. */
async function sweepRound(run: Run, sides: Side[], concurrency: number, round: number): Promise<void> {
  const mains = sides.map((side) => side.client);
  for (const side of sides) {
    const client = new BenchClient(side.name, side.host, concurrency, run.cfg.timeoutMs);
    client.prefix = side.client.prefix;
    side.client = client;
  }
  try {
    const stats = await runRound(run, sides, `c${concurrency}`, `${concurrency} clients`, round, concurrency);
    sides.forEach((side, i) => {
      side.sweep.set(concurrency, stats[i]!);
    });
  } finally {
    sides.forEach((side, i) => {
      side.client.close();
      side.client = mains[i]!;
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Setting up and cleaning up a side.

async function openSide(run: Run, sides: Side[], name: SideName, letter: string, host: string, owned: boolean): Promise<Side> {
  const client: BenchClient = new BenchClient(name, host, run.cfg.concurrency, run.cfg.timeoutMs);
  const side: Side = {
    name,
    letter,
    client,
    apiVersion: '',
    version: '',
    live: new Map(),
    rounds: [],
    sweep: new Map(),
    host,
    pid: listenerPid(host),
    storePids: [],
  };
  sides.push(side);
  const answer = await client.send('GET', '/version', 200, undefined, true);
  const body = client.parse(answer, 'GET', '/version');
  const apiVersion = isRecord(body) ? body['ApiVersion'] : undefined;
  if (typeof apiVersion !== 'string' || !/^\d+\.\d+$/.test(apiVersion)) {
    client.wrong(answer, 'GET', '/version', 'answered no ApiVersion like "1.44"');
  }
  side.apiVersion = apiVersion;
  side.version = isRecord(body) && typeof body['Version'] === 'string' ? body['Version'] : '?';
  client.prefix = `/v${apiVersion}`;

  // The secrets API needs a swarm manager. A secretd this bench started may come up without a
  // swarm: initialise one there; never touch the swarm of a daemon someone else runs.
  const info = await client.exchangeLoose('GET', '/info');
  const state = info?.status === 200 && isRecord(info.json) && isRecord(info.json['Swarm']) ? info.json['Swarm']['LocalNodeState'] : undefined;
  if (state === 'inactive') {
    if (!owned) throw new Error(`${name} at ${host} is not in swarm mode (Swarm.LocalNodeState "inactive"): the secrets API needs a swarm manager`);
    await client.send('POST', '/swarm/init', 200, Buffer.from(JSON.stringify({ ListenAddr: '127.0.0.1:2377', AdvertiseAddr: '127.0.0.1:2377' })));
    log(`${name}: initialised a single-node swarm`);
  }
  log(`${name}: ${host}, version ${side.version}, API ${apiVersion} (requests go to ${client.prefix}/...)`);
  return side;
}

/** Deletes what the run created on a side: the IDs it tracked, then anything left with its tag. */
async function cleanUp(run: Run, side: Side): Promise<void> {
  const problems: string[] = [];
  const remove = async (id: string): Promise<number> => {
    try {
      await side.client.send('DELETE', `/secrets/${id}`, 204);
      side.live.delete(id);
    } catch (err) {
      if (err instanceof RequestFailure && err.status === 404) side.live.delete(id);
      else problems.push(err instanceof Error ? err.message : String(err));
    }
    return 0;
  };
  const tracked = [...side.live.keys()];
  if (tracked.length > 0) {
    log(`${side.name}: deleting ${tracked.length} secret(s) this run left behind`);
    await runPool(tracked.length, run.cfg.concurrency, (i) => remove(tracked[i]!), false);
  }
  // A create whose answer never arrived (timeout, Ctrl-C) may still have made a secret.
  try {
    const path = `/secrets?${filtersQuery({ label: { [`${RUN_LABEL}=${run.tag}`]: true } })}`;
    const answer = await side.client.send('GET', path, 200);
    const body = side.client.parse(answer, 'GET', path);
    const strays = (Array.isArray(body) ? body : [])
      .filter(isRecord)
      .filter((s) => typeof s['ID'] === 'string' && isRecord(s['Spec']) && String(s['Spec']['Name']).startsWith(run.namePrefix))
      .map((s) => s['ID'] as string);
    if (strays.length > 0) {
      log(`${side.name}: deleting ${strays.length} more secret(s) carrying this run's tag`);
      await runPool(strays.length, run.cfg.concurrency, (i) => remove(strays[i]!), false);
    }
  } catch (err) {
    problems.push(`sweep: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (problems.length > 0 || side.live.size > 0) {
    log(`WARNING ${side.name}: clean-up incomplete (names start with ${run.namePrefix}); ${side.live.size} tracked secret(s) remain`);
    for (const p of problems.slice(0, 5)) log(`  ${p.replace(/\n/g, '\n  ')}`);
    if (problems.length > 5) log(`  … and ${problems.length - 5} more`);
  }
}

// ---------------------------------------------------------------------------------------------
// Reporting.

interface OpSummary {
  operation: Operation;
  title: string;
  secretd: Summary;
  dockerd: Summary | null;
  ratio: number | null;
  /** The ceiling this operation is held against (bare+fdatasync for writes, bare for reads). */
  ceiling: (Summary & { side: SideName }) | null;
  ceilingRatio: number | null;
}

interface Summary {
  opsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  cpuUsPerOp: number | undefined;
  storeCpuUsPerOp: number | undefined;
}

function summarize(side: Side, op: Operation): Summary {
  return {
    opsPerSec: median(side.rounds.map((r) => r[op].opsPerSec)),
    p50Ms: median(side.rounds.map((r) => r[op].p50Ms)),
    p99Ms: median(side.rounds.map((r) => r[op].p99Ms)),
    cpuUsPerOp: side.pid === undefined ? undefined : median(side.rounds.map((r) => r[op].cpuUsPerOp ?? Number.NaN)),
    storeCpuUsPerOp: side.storePids.length === 0 ? undefined : median(side.rounds.map((r) => r[op].storeCpuUsPerOp ?? Number.NaN)),
  };
}

/**
 * secretd's ops/s over `other`'s: the median of the rounds' own ratios, each taken from phases
 * run one after the other (runRound), so a round the whole machine ran slow counts as one.
 */
function pairedRatio(secretd: Side, other: Side, op: Operation): number {
  return median(secretd.rounds.map((r, i) => r[op].opsPerSec / (other.rounds[i]?.[op].opsPerSec ?? Number.NaN)));
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

function tailOf(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

// ---------------------------------------------------------------------------------------------

async function main(argv: string[]): Promise<number> {
  let cfg: Config;
  try {
    const parsed = parseConfig(argv);
    if (parsed === 'help') {
      process.stdout.write(`${HELP}\n`);
      return 0;
    }
    cfg = parsed;
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`secrets.bench: ${err.message}\n\n${HELP}\n`);
    return 2;
  }

  // What users run: the build (bin/secretd.mjs runs it while it is current), made afresh here.
  const built = spawnSync(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, 'tools/build.ts')], {
    cwd: PROJECT_ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (built.status !== 0) throw new Error('npm run build failed');
  if (cfg.scale !== undefined) return runScale({ ...cfg, count: cfg.scale });
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const tag = randomBytes(5).toString('hex');
  const run: Run = { cfg, tag, namePrefix: `sb-${tag}-` };
  const host: HostReport = { before: await checkIdleBefore(log) };

  let reference: { host: string } | { skip: string };
  if (cfg.noRef) reference = { skip: '--no-ref was given' };
  else {
    if (cfg.refHost !== undefined) process.env.REF_DOCKER_HOST = cfg.refHost;
    reference = referenceDockerd();
  }

  log(
    `secrets bench: ${cfg.count} secrets, ${cfg.concurrency} clients, ${cfg.valueBytes}-byte values, ` +
      `${cfg.rounds} round(s), run tag ${tag} (names ${run.namePrefix}*)`,
  );
  if ('skip' in reference) log(`no reference dockerd: ${reference.skip}`);

  let daemon: Daemon | undefined;
  let etcd: EtcdCluster | undefined;
  const ceilings: Ceiling[] = [];
  const sides: Side[] = [];
  let failure: unknown;
  try {
    let secretdHost: string;
    if (cfg.targetHost !== undefined) {
      secretdHost = cfg.targetHost;
      log(`secretd side: using the daemon at ${secretdHost} (--target-host), not starting one`);
      if (cfg.secretdArgs.length > 0) log('WARNING: --secretd-arg is ignored with --target-host');
    } else {
      const storeArgs: string[] = [];
      if (cfg.store === 'etcd') {
        const why = etcdMissing();
        if (why) throw new Error(`--store etcd: ${why}`);
        etcd = await startEtcd(1);
        log(`started a temporary single-member etcd at ${etcd.members[0]!.endpoint}`);
        storeArgs.push('--store', etcd.storeUrl(`bench-${tag}`));
      } else if (cfg.store?.startsWith('etcd://')) {
        storeArgs.push('--store', `${cfg.store.replace(/\/+$/, '')}${cfg.store.slice(7).includes('/') ? '' : '/secretd'}/bench-${tag}`);
      }
      const args = ['--log-level', 'error', ...storeArgs, ...cfg.secretdArgs];
      log(`starting secretd (npm start -- ... ${args.join(' ')})`);
      daemon = await startDaemon({ args, env: DAEMON_ENV });
      secretdHost = daemon.host;
    }
    if (interrupted) throw new Interrupted();
    const secretdSide = await openSide(run, sides, 'secretd', 's', secretdHost, daemon !== undefined);
    secretdSide.storePids = (etcd?.members ?? []).flatMap((m) => (m.pid === undefined ? [] : [m.pid]));
    if ('host' in reference) await openSide(run, sides, 'dockerd', 'd', reference.host, false);
    if (cfg.ceilings) {
      for (const [name, letter, durable] of [
        ['bare', 'b', false],
        ['bare+fdatasync', 'f', true],
      ] as const) {
        const ceiling = await startCeiling(durable);
        ceilings.push(ceiling);
        await openSide(run, sides, name, letter, ceiling.host, true);
      }
    }

    for (const side of sides) await warmUp(run, side);
    const measuring: HostSample | undefined = sampleHost();
    // Interleaved: every side runs an operation of round r before any runs the next, so a change
    // in the machine's load during the run shows in every column alike (runRound).
    for (let round = 1; round <= cfg.rounds; round++) {
      const stats = await runRound(run, sides, `r${round}`, `round ${round}/${cfg.rounds}`, round);
      sides.forEach((side, i) => {
        side.rounds.push(stats[i]!);
      });
    }
    for (const [i, concurrency] of cfg.sweep.entries()) await sweepRound(run, sides, concurrency, i + 1);
    host.during = loadBetween(measuring, sampleHost());
  } catch (err) {
    failure = err;
  } finally {
    for (const side of sides) {
      // A side whose /version never answered cannot have been given any secret.
      if (side.apiVersion === '') {
        side.client.close();
        continue;
      }
      try {
        await cleanUp(run, side);
      } catch (err) {
        log(`WARNING ${side.name}: clean-up failed: ${err instanceof Error ? err.message : String(err)}`);
      }
      side.client.close();
    }
    if (daemon) {
      if (failure !== undefined && !(failure instanceof Interrupted)) {
        log(`--- last lines secretd printed ---\n${tailOf(daemon.logs, 40) || '(nothing)'}\n---`);
      }
      await daemon.dispose();
    }
    await etcd?.dispose();
    for (const ceiling of ceilings) await ceiling.stop();
  }

  const secretd = sides.find((s) => s.name === 'secretd');
  const dockerd = sides.find((s) => s.name === 'dockerd');
  const sideNamed = (name: SideName) => sides.find((s) => s.name === name);

  if (failure !== undefined) {
    const message = failure instanceof Error ? failure.message : String(failure);
    if (cfg.json) writeJson(cfg.json, run, sides, secretd, dockerd, reference, host, [], { ok: false, error: message });
    if (failure instanceof Interrupted) {
      log('interrupted: no results');
      return 130;
    }
    log(`FAILED: ${message}`);
    return 1;
  }
  if (!secretd) throw new Error('internal: no secretd side');

  const summaries: OpSummary[] = OPERATIONS.map((op) => {
    const s = summarize(secretd, op);
    const d = dockerd ? summarize(dockerd, op) : null;
    const ceilingSide = sideNamed(ceilingOf(op));
    const c = ceilingSide ? summarize(ceilingSide, op) : null;
    return {
      operation: op,
      title: TITLES[op],
      secretd: s,
      dockerd: d,
      ratio: dockerd ? pairedRatio(secretd, dockerd, op) : null,
      ceiling: c ? { side: ceilingOf(op), ...c } : null,
      ceilingRatio: ceilingSide ? pairedRatio(secretd, ceilingSide, op) : null,
    };
  });

  const header = ['operation', 'secretd ops/s', 'p50 ms', 'p99 ms', 'dockerd ops/s', 'p50 ms', 'p99 ms', 'ratio'];
  const rows = summaries.map((s) => [
    s.title,
    fmtRate(s.secretd.opsPerSec),
    fmtMs(s.secretd.p50Ms),
    fmtMs(s.secretd.p99Ms),
    fmtRate(s.dockerd?.opsPerSec),
    fmtMs(s.dockerd?.p50Ms),
    fmtMs(s.dockerd?.p99Ms),
    fmtRatio(s.ratio ?? undefined),
  ]);
  const roundsNote = cfg.rounds > 1 ? `, median of ${cfg.rounds} rounds` : '';
  const against = dockerd ? ` vs dockerd ${dockerd.version} (API ${dockerd.apiVersion})` : '';
  const target = (cfg.targetHost !== undefined ? ` [--target-host ${cfg.targetHost}]` : '') + (cfg.store ? ` [--store ${cfg.store}]` : '');
  process.stdout.write(
    `\nsecretd ${secretd.version} (API ${secretd.apiVersion})${target}${against}: ` +
      `${cfg.count} secrets, ${cfg.concurrency} clients, ${cfg.valueBytes}-byte values${roundsNote}\n\n`,
  );
  process.stdout.write(`${formatTable(header, rows)}\n\n`);
  const bare = sideNamed('bare');
  const durable = sideNamed('bare+fdatasync');
  if (bare && durable) {
    process.stdout.write(
      'ceilings (ops/s): bare node:http on a Map, and the same with one fdatasync per batch of writes;\n' +
        'secretd/ceiling compares writes with bare+fdatasync and reads with bare\n\n',
    );
    const ceilingRows = summaries.map((s) => [
      s.title,
      fmtRate(s.secretd.opsPerSec),
      fmtRate(s.dockerd?.opsPerSec),
      fmtRate(summarize(bare, s.operation).opsPerSec),
      fmtRate(summarize(durable, s.operation).opsPerSec),
      fmtRatio(s.ratio ?? undefined),
      fmtRatio(s.ceilingRatio ?? undefined),
    ]);
    process.stdout.write(
      `${formatTable(['operation', 'secretd', 'dockerd', 'bare', 'bare+fdatasync', 'secretd/dockerd', 'secretd/ceiling'], ceilingRows)}\n\n`,
    );
  }
  const measured = sides.filter((side) => side.pid !== undefined && side.rounds.length > 0);
  if (measured.length > 0) {
    process.stdout.write('CPU per request (µs of the server process, all its threads; from /proc)\n\n');
    const store = secretd.storePids.length > 0;
    const cpuRows = summaries.map((s) => [
      s.title,
      ...measured.map((side) => fmtMicros(summarize(side, s.operation).cpuUsPerOp)),
      ...(store ? [fmtMicros(s.secretd.storeCpuUsPerOp)] : []),
    ]);
    const columns = [...measured.map((side) => side.name), ...(store ? ["secretd's etcd"] : [])];
    process.stdout.write(`${formatTable(['operation', ...columns], cpuRows)}\n\n`);
  }
  if (cfg.sweep.length > 0) {
    process.stdout.write(`concurrency sweep (ops/s, one round per side at each client count)\n\n`);
    const sweepRows = cfg.sweep.flatMap((c) =>
      OPERATIONS.map((op) => {
        const rate = (side: Side | undefined) => side?.sweep.get(c)?.[op].opsPerSec;
        const mine = rate(secretd)!;
        const ratio = (other: number | undefined) => (other === undefined ? '-' : fmtRatio(mine / other));
        return [
          `${c} clients: ${TITLES[op]}`,
          fmtRate(mine),
          fmtRate(rate(dockerd)),
          fmtRate(rate(bare)),
          fmtRate(rate(durable)),
          ratio(rate(dockerd)),
          ratio(rate(sideNamed(ceilingOf(op)))),
        ];
      }),
    );
    process.stdout.write(
      `${formatTable(['clients: operation', 'secretd', 'dockerd', 'bare', 'bare+fdatasync', 'secretd/dockerd', 'secretd/ceiling'], sweepRows)}\n\n`,
    );
  }

  let pass = true;
  let final: string;
  if (dockerd) {
    const ratios = summaries.map((s) => s.ratio ?? Number.NaN);
    const worst = summaries.reduce((a, b) => ((b.ratio ?? Infinity) < (a.ratio ?? Infinity) ? b : a));
    final = `ratio secretd/dockerd ops/s: min ${fmtRatio(worst.ratio ?? undefined)} (${worst.title}), geometric mean ${fmtRatio(geometricMean(ratios))}`;
    if (cfg.minRatio !== undefined) {
      const below = summaries.filter((s) => (s.ratio ?? 0) < cfg.minRatio!);
      pass = below.length === 0;
      final += pass
        ? `; --min-ratio ${cfg.minRatio}: PASS`
        : `; --min-ratio ${cfg.minRatio}: FAIL (${below.map((s) => `${s.title} ${fmtRatio(s.ratio ?? undefined)}`).join(', ')})`;
    }
  } else {
    final = `no ratios: ${'skip' in reference ? reference.skip : 'no reference dockerd'}; secretd numbers only`;
    if (cfg.minRatio !== undefined) final += `; --min-ratio ${cfg.minRatio} NOT checked`;
  }
  process.stdout.write(`${final}\n`);
  if ('during' in host) process.stdout.write(`${duringLine(host.during)}\n`);
  if (cfg.json) {
    writeJson(cfg.json, run, sides, secretd, dockerd, reference, host, summaries, { ok: pass });
    log(`wrote ${cfg.json}`);
  }
  return pass ? 0 : 1;
}

function writeJson(
  file: string,
  run: Run,
  sides: Side[],
  secretd: Side | undefined,
  dockerd: Side | undefined,
  reference: { host: string } | { skip: string },
  host: HostReport,
  summaries: OpSummary[],
  outcome: { ok: boolean; error?: string },
): void {
  const describe = (side: Side | undefined) => (side ? { host: side.client.hostUrl, version: side.version, apiVersion: side.apiVersion } : null);
  const rounds = (secretd?.rounds ?? []).map((s, i) => ({ round: i + 1, secretd: s, dockerd: dockerd?.rounds[i] ?? null }));
  const sweep = Object.fromEntries(sides.map((side) => [side.name, Object.fromEntries(side.sweep)]));
  const ceilings = Object.fromEntries(sides.filter((side) => side.name.startsWith('bare')).map((side) => [side.name, side.rounds]));
  const report = {
    ...outcome,
    tag: run.tag,
    config: {
      count: run.cfg.count,
      concurrency: run.cfg.concurrency,
      rounds: run.cfg.rounds,
      warmup: run.cfg.warmup,
      valueBytes: run.cfg.valueBytes,
      secretdArgs: run.cfg.secretdArgs,
      store: run.cfg.store ?? 'sqlite',
      targetHost: run.cfg.targetHost ?? null,
      minRatio: run.cfg.minRatio ?? null,
    },
    secretd: describe(secretd),
    dockerd: describe(dockerd),
    noReferenceReason: 'skip' in reference ? reference.skip : null,
    host: { before: host.before ?? null, during: host.during ?? null },
    operations: summaries,
    rounds,
    ceilings,
    sweep,
  };
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
}

main(process.argv.slice(2)).then(
  (code) => process.stdout.write('', () => process.exit(code)),
  (err: unknown) => {
    process.stderr.write(`secrets.bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
