/**
 * The scale benchmark (`npm run bench -- --scale N`): fills a fresh secretd with N secrets
 * (labels `team=t{i % 100}` and `env`), then reports the fill rate, the latency of a
 * label-filtered list matching 1 %, of a list of all and of an inspect by name, the daemon's
 * RSS after those reads, and the time from a restart to its first answered `/_ping`.
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

/** What one daemon showed: the fill rate and the read latencies. */
interface Measured {
  fillRate: number;
  labelList: number[];
  all: number[];
  inspect: number[];
}

/** Fills `client`'s daemon with N secrets, then times the reads (module comment). */
async function fillAndRead(client: BenchClient, cfg: ScaleConfig, who: string): Promise<Measured> {
  const version = client.parse(await client.send('GET', '/version', 200, undefined, true), 'GET', '/version') as { ApiVersion: string };
  client.prefix = `/v${version.ApiVersion}`;
  const value = Buffer.alloc(cfg.valueBytes, 7).toString('base64');
  const width = String(cfg.count - 1).length;
  const name = (i: number) => `scale-${String(i).padStart(width, '0')}`;

  log(`scale: filling ${who} with ${cfg.count} secrets, ${cfg.concurrency} clients`);
  let next = 0;
  const fillStarted = performance.now();
  await Promise.all(
    Array.from({ length: cfg.concurrency }, async () => {
      for (let i = next++; i < cfg.count; i = next++) {
        const body = { Name: name(i), Labels: { team: `t${i % 100}`, env: i % 2 ? 'prod' : 'dev' }, Data: value };
        await client.send('POST', '/secrets/create', 201, Buffer.from(JSON.stringify(body)));
        if ((i + 1) % 10_000 === 0) log(`  ${i + 1} created`);
      }
    }),
  );
  const fillRate = cfg.count / ((performance.now() - fillStarted) / 1000);

  const asMaps = (f: Record<string, string[]>) => Object.fromEntries(Object.entries(f).map(([k, v]) => [k, Object.fromEntries(v.map((x) => [x, true]))]));
  const filter = (f: Record<string, string[]>) => `/secrets?filters=${encodeURIComponent(JSON.stringify(asMaps(f)))}`;
  const labelList = await timed(client, 21, (i) => filter({ label: [`team=t${(i * 37) % 100}`] }));
  const all = await timed(client, 5, () => '/secrets');
  const inspect = await timed(client, 200, (i) => `/secrets/${name((i * 7919) % cfg.count)}`);
  return { fillRate, labelList, all, inspect };
}

export async function runScale(cfg: ScaleConfig): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'secretd-scale-'));
  const socket = join(dir, 'secretd.sock');
  const dataRoot = join(dir, 'data');
  const client = new BenchClient('secretd', `unix://${socket}`, cfg.concurrency, cfg.timeoutMs);
  const refClient = cfg.scaleRef ? new BenchClient('dockerd', cfg.scaleRef, cfg.concurrency, cfg.timeoutMs) : undefined;
  let daemon: Running | undefined;
  try {
    daemon = await startNode(socket, dataRoot, cfg.secretdArgs, client);
    const ours = await fillAndRead(client, cfg, 'secretd');
    const rss = rssMb(daemon.proc.pid!);

    daemon.proc.kill('SIGTERM');
    await daemon.exited;
    daemon = await startNode(socket, dataRoot, cfg.secretdArgs, client);
    const restartMs = daemon.readyMs;
    const ref = refClient && (await fillAndRead(refClient, cfg, `dockerd at ${cfg.scaleRef}`));

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
      ).map(([what, k]) => [what, ms(ours[k]), ref ? ms(ref[k]) : '-', ref ? ratio(median(ref[k]), median(ours[k])) : '-']),
      ['daemon RSS after those reads', `${rss.toFixed(0)} MB`, '-', '-'],
      ['restart to first /_ping', `${fmtMs(restartMs)} ms`, '-', '-'],
    ];
    process.stdout.write(`\nsecretd at ${cfg.count} secrets (${cfg.valueBytes}-byte values, ${cfg.concurrency} clients for the fill)`);
    process.stdout.write(ref ? `, beside dockerd at ${cfg.scaleRef}; speedup = how many times faster secretd is\n\n` : '\n\n');
    process.stdout.write(`${formatTable(['measure', 'secretd', 'dockerd', 'speedup'], rows)}\n`);
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
