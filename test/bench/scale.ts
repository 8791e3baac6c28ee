/**
 * The scale benchmark (`npm run bench -- --scale N`): fills a fresh secretd with N secrets
 * (labels `team=t{i % 100}` and `env`), then reports the fill rate, the latency of a
 * label-filtered list matching 1 %, of a list of all and of an inspect by name, the daemon's
 * RSS after those reads, and the time from a restart to its first answered `/_ping`. Beside a
 * reference dockerd (--scale-ref), both fill in turns (FILL_CHUNK) and are read the same way.
 *
 * The daemon runs as the installed command does, one `node` process running the build
 * (`node bin/secretd.mjs`, no npm, shell or tsx in between), so the RSS is that process's and
 * the restart time is the daemon's own.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../helpers/daemon.ts';
import { BenchClient } from './client.ts';
import { checkIdleBefore, duringLine, loadBetween, sampleHost } from './host-load.ts';
import { fmtMs, fmtRate, formatTable, median } from './stats.ts';

export interface ScaleConfig {
  count: number;
  concurrency: number;
  valueBytes: number;
  timeoutMs: number;
  secretdArgs: string[];
  /** A dockerd to fill and read the same way, beside secretd (--scale-ref URL): one of its own, since it keeps the N secrets. */
  scaleRef: string | undefined;
}

interface Running {
  proc: ChildProcess;
  exited: Promise<void>;
  /** From spawn to the first /_ping answered 200, in ms. */
  readyMs: number;
}

const log = (line: string) => process.stderr.write(`${line}\n`);

/**
 * The environment contrib/systemd/secretd.service gives the daemon: glibc's malloc held some 35 MB
 * more after large lists in arenas of other threads, and V8's young generation some 26 MB more at
 * its default size (docs/benchmark.md). A value set already wins.
 */
export const DAEMON_ENV = {
  MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2',
  NODE_OPTIONS: /--max-semi-space-size/.test(process.env.NODE_OPTIONS ?? '')
    ? process.env.NODE_OPTIONS!
    : [process.env.NODE_OPTIONS, '--max-semi-space-size=8'].filter(Boolean).join(' '),
};

async function startNode(socket: string, dataRoot: string, args: string[], client: BenchClient): Promise<Running> {
  const started = performance.now();
  const proc = spawn(
    process.execPath,
    [join(PROJECT_ROOT, 'bin/secretd.mjs'), '-H', `unix://${socket}`, '--data-root', dataRoot, '--log-level', 'error', ...args],
    { cwd: PROJECT_ROOT, stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, ...DAEMON_ENV } },
  );
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`secretd exited with ${proc.exitCode} before answering /_ping`);
    const answer = await client.exchangeLoose('GET', '/_ping');
    if (answer?.status === 200) return { proc, exited, readyMs: performance.now() - started };
    await new Promise((r) => setTimeout(r, 5));
  }
  proc.kill('SIGKILL');
  throw new Error('secretd did not answer /_ping within 120 s');
}

function rssMb(pid: number): number {
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb) / 1024;
}

/** Latencies in ms of `times` sequential requests. */
async function timed(client: BenchClient, times: number, path: (i: number) => string, expect = 200): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < times; i++) out.push((await client.send('GET', path(i), expect)).ms);
  return out;
}

/** The read latencies one daemon showed, in ms. */
interface Reads {
  labelList: number[];
  all: number[];
  inspect: number[];
}

/**
 * Creates per chunk of the fill. With a reference dockerd beside it, the two daemons fill in
 * turns of a chunk each, the first of a pair changing from pair to pair, so that a slow spell of
 * the host (minutes, here) falls on both alike rather than on whichever filled then.
 */
const FILL_CHUNK = 5000;

/** One daemon under the scale benchmark: its client, and the fill's time so far. */
class Side {
  fillMs = 0;
  readonly client: BenchClient;
  readonly who: string;
  private readonly cfg: ScaleConfig;
  private readonly value: string;
  private readonly width: number;
  constructor(client: BenchClient, cfg: ScaleConfig, who: string) {
    this.client = client;
    this.cfg = cfg;
    this.who = who;
    this.value = Buffer.alloc(cfg.valueBytes, 7).toString('base64');
    this.width = String(cfg.count - 1).length;
  }

  name(i: number): string {
    return `scale-${String(i).padStart(this.width, '0')}`;
  }

  /** Talks the daemon's own API version from now on. */
  async begin(): Promise<void> {
    const version = this.client.parse(await this.client.send('GET', '/version', 200, undefined, true), 'GET', '/version') as { ApiVersion: string };
    this.client.prefix = `/v${version.ApiVersion}`;
  }

  /** Creates secrets `from` to `to` - 1 with the configured clients, and counts the time. */
  async fill(from: number, to: number): Promise<void> {
    let next = from;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: this.cfg.concurrency }, async () => {
        for (let i = next++; i < to; i = next++) {
          const body = { Name: this.name(i), Labels: { team: `t${i % 100}`, env: i % 2 ? 'prod' : 'dev' }, Data: this.value };
          await this.client.send('POST', '/secrets/create', 201, Buffer.from(JSON.stringify(body)));
        }
      }),
    );
    this.fillMs += performance.now() - started;
  }

  get fillRate(): number {
    return this.cfg.count / (this.fillMs / 1000);
  }

  async reads(): Promise<Reads> {
    const asMaps = (f: Record<string, string[]>) => Object.fromEntries(Object.entries(f).map(([k, v]) => [k, Object.fromEntries(v.map((x) => [x, true]))]));
    const filter = (f: Record<string, string[]>) => `/secrets?filters=${encodeURIComponent(JSON.stringify(asMaps(f)))}`;
    const labelList = await timed(this.client, 21, (i) => filter({ label: [`team=t${(i * 37) % 100}`] }));
    const all = await timed(this.client, 5, () => '/secrets');
    const inspect = await timed(this.client, 200, (i) => `/secrets/${this.name((i * 7919) % this.cfg.count)}`);
    return { labelList, all, inspect };
  }
}

/** Fills every side with the N secrets, chunk by chunk in turns (FILL_CHUNK). */
async function fillInTurns(sides: Side[], count: number, concurrency: number): Promise<void> {
  log(`scale: filling ${sides.map((s) => s.who).join(' and ')} with ${count} secrets each, ${concurrency} clients, ${FILL_CHUNK} at a time`);
  for (let from = 0, pair = 0; from < count; from += FILL_CHUNK, pair++) {
    const to = Math.min(count, from + FILL_CHUNK);
    for (const side of pair % 2 ? [...sides].reverse() : sides) await side.fill(from, to);
    if (to % 10_000 === 0 || to === count) log(`  ${to} created`);
  }
}

export async function runScale(cfg: ScaleConfig): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'secretd-scale-'));
  const socket = join(dir, 'secretd.sock');
  const dataRoot = join(dir, 'data');
  const client = new BenchClient('secretd', `unix://${socket}`, cfg.concurrency, cfg.timeoutMs);
  const refClient = cfg.scaleRef ? new BenchClient('dockerd', cfg.scaleRef, cfg.concurrency, cfg.timeoutMs) : undefined;
  let daemon: Running | undefined;
  try {
    await checkIdleBefore(log);
    const measuring = sampleHost();
    daemon = await startNode(socket, dataRoot, cfg.secretdArgs, client);
    const ours = new Side(client, cfg, 'secretd');
    const ref = refClient && new Side(refClient, cfg, `dockerd at ${cfg.scaleRef}`);
    const sides = ref ? [ours, ref] : [ours];
    for (const side of sides) await side.begin();
    await fillInTurns(sides, cfg.count, cfg.concurrency);
    const ourReads = await ours.reads();
    const rss = rssMb(daemon.proc.pid!);

    daemon.proc.kill('SIGTERM');
    await daemon.exited;
    daemon = await startNode(socket, dataRoot, cfg.secretdArgs, client);
    const restartMs = daemon.readyMs;
    const refReads = ref && (await ref.reads());

    const ms = (xs: number[]) => `${fmtMs(median(xs))} ms`;
    const ratio = (a: number, b: number) => (b > 0 ? (a / b).toFixed(2) : '-');
    const rows = [
      ['fill (creates/s)', fmtRate(ours.fillRate), ref ? fmtRate(ref.fillRate) : '-', ref ? ratio(ours.fillRate, ref.fillRate) : '-'],
      ...(
        [
          ['list, label filter matching 1 % (median of 21)', 'labelList'],
          ['list of all (median of 5)', 'all'],
          ['inspect by name (median of 200)', 'inspect'],
        ] as const
      ).map(([what, k]) => [what, ms(ourReads[k]), refReads ? ms(refReads[k]) : '-', refReads ? ratio(median(refReads[k]), median(ourReads[k])) : '-']),
      ['daemon RSS after those reads', `${rss.toFixed(0)} MB`, '-', '-'],
      ['restart to first /_ping', `${fmtMs(restartMs)} ms`, '-', '-'],
    ];
    process.stdout.write(`\nsecretd at ${cfg.count} secrets (${cfg.valueBytes}-byte values, ${cfg.concurrency} clients for the fill)`);
    process.stdout.write(ref ? `, beside dockerd at ${cfg.scaleRef}; speedup = how many times faster secretd is\n\n` : '\n\n');
    process.stdout.write(`${formatTable(['measure', 'secretd', 'dockerd', 'speedup'], rows)}\n`);
    process.stdout.write(`${duringLine(loadBetween(measuring, sampleHost()))}\n`);
    return 0;
  } finally {
    client.close();
    refClient?.close();
    if (daemon && daemon.proc.exitCode === null) {
      daemon.proc.kill('SIGTERM');
      await daemon.exited;
    }
    rmSync(dir, { recursive: true, force: true });
  }
}
