/**
 * `npm run bench` end to end, small: it starts secretd and both ceiling servers, measures them
 * beside the reference dockerd, prints every table the README quotes and the host's load, writes
 * its JSON, and leaves nothing behind on the dockerd. `--scale` fills, reads and restarts. No
 * speed is asserted (the bench's numbers belong to an idle machine, not to a test run), only
 * that each figure is there and plausible.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import Docker from 'dockerode';
import { PROJECT_ROOT } from '../helpers/daemon.ts';
import { referenceDockerd } from '../helpers/tools.ts';

const ref = referenceDockerd();
const dir = mkdtempSync(join(tmpdir(), 'secretd-bench-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function bench(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const res = spawnSync(process.execPath, ['--import', 'tsx', 'test/bench/secrets.bench.ts', ...args], {
    cwd: PROJECT_ROOT,
    encoding: 'utf8',
    timeout: 240_000,
    env: { ...process.env, ...('host' in ref ? { REF_DOCKER_HOST: ref.host } : {}) },
  });
  return { status: res.status, stdout: res.stdout, stderr: res.stderr };
}

interface Load {
  cpus: number;
  seconds: number;
  busyPct: number;
  stealPct: number;
  pressurePct: number | null;
}

function assertLoad(load: Load | null, what: string): void {
  assert.ok(load, `${what}: no host load`);
  assert.ok(load.cpus >= 1, `${what}: ${load.cpus} CPUs`);
  assert.ok(load.seconds > 0, `${what}: ${load.seconds} s`);
  for (const pct of [load.busyPct, load.stealPct]) assert.ok(pct >= 0 && pct <= 100, `${what}: ${pct} %`);
}

describe('npm run bench', { skip: 'skip' in ref ? ref.skip : false }, () => {
  test('measures secretd beside dockerd and both ceilings, and cleans up after itself', async () => {
    const json = join(dir, 'bench.json');
    const run = bench(['--count', '40', '--warmup', '50', '--sweep', '1,4', '--json', json]);
    assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
    for (const heading of ['secretd/ceiling', 'CPU per request', 'concurrency sweep', 'ratio secretd/dockerd ops/s: min', 'host during the measured part:']) {
      assert.ok(run.stdout.includes(heading), `no "${heading}" in\n${run.stdout}`);
    }
    assert.match(run.stderr, /host before the run: \d+ CPUs, [\d.]+ % busy/);

    const report = JSON.parse(readFileSync(json, 'utf8'));
    assert.equal(report.ok, true);
    assert.deepEqual(
      report.operations.map((o: { operation: string }) => o.operation),
      ['create', 'inspect', 'list', 'update', 'delete'],
    );
    for (const o of report.operations) {
      assert.ok(o.secretd.opsPerSec > 0 && o.dockerd.opsPerSec > 0 && o.ceiling.opsPerSec > 0, JSON.stringify(o));
      assert.ok(o.ratio > 0 && o.ceilingRatio > 0, JSON.stringify(o));
      // Writes are held to the durable ceiling, reads to the bare one.
      assert.equal(o.ceiling.side, ['create', 'update', 'delete'].includes(o.operation) ? 'bare+fdatasync' : 'bare');
    }
    for (const side of ['secretd', 'dockerd', 'bare', 'bare+fdatasync']) {
      assert.deepEqual(Object.keys(report.sweep[side]).sort(), ['1', '4'], side);
    }
    assertLoad(report.host.before, 'before');
    assertLoad(report.host.during, 'during');

    // Every secret of the run is gone from the reference dockerd again.
    const docker = new Docker({ socketPath: (ref as { host: string }).host.slice('unix://'.length) });
    const left = await docker.listSecrets({ filters: JSON.stringify({ name: [`sb-${report.tag}-`] }) });
    assert.deepEqual(left, []);
  });

  test('--scale fills, reads and restarts secretd and reports each figure', () => {
    const run = bench(['--scale', '300', '--concurrency', '8']);
    assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
    for (const row of ['fill (creates/s)', 'list, label filter matching 1 %', 'list of all', 'restart to first /_ping', 'host during the measured part:']) {
      assert.ok(run.stdout.includes(row), `no "${row}" in\n${run.stdout}`);
    }
    const restart = run.stdout.match(/restart to first \/_ping\s*\|\s*([\d.]+) ms/);
    assert.ok(restart && Number(restart[1]) > 0, run.stdout);
  });

  test('a bad flag is a usage error naming it', () => {
    const run = bench(['--count', 'many']);
    assert.equal(run.status, 2);
    assert.match(run.stderr, /--count/);
  });
});
