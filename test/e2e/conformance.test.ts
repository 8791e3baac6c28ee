/**
 * The differential harness in ../shared/conformance: the same requests against a real
 * reference dockerd and against a secretd started with `npm start`; every public case must pass.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { PROJECT_ROOT, startDaemon, type Daemon } from '../helpers/daemon.ts';
import { fileMissing, referenceDockerd } from '../helpers/tools.ts';

const HARNESS = join(PROJECT_ROOT, '..', 'shared', 'conformance', 'run.mjs');
const ref = referenceDockerd();
const skip = fileMissing(HARNESS, 'the conformance harness comes with ../shared beside the checkout') || ('skip' in ref ? ref.skip : false);

let daemon: Daemon;
before(async () => {
  if (!skip) daemon = await startDaemon({ args: ['--log-level', 'warn'] });
});
after(async () => daemon?.dispose());

test('every public conformance case passes against the reference dockerd', { skip, timeout: 600_000 }, async () => {
  const refHost = (ref as { host: string }).host;
  const args = [HARNESS, '--ref', refHost, '--ref-prefix', '/v1.41', '--target', daemon.host, '--target-prefix', '/v1.44', '--timeout', '60'];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c) => (out += c));
  child.stderr.on('data', (c) => (out += c));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  const summary = out.trim().split('\n').at(-1) ?? '';
  const failures = out.split('\n').filter((l) => l.startsWith('FAIL'));
  assert.match(summary, /^\d+ passed, 0 failed$/, `harness output:\n${out}`);
  assert.deepEqual(failures, []);
  assert.equal(code, 0);
  const passed = Number(/^(\d+) passed/.exec(summary)?.[1]);
  assert.ok(passed >= 62, `only ${passed} cases ran`);
});
