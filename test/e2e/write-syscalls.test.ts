/**
 * What a 2xx means, shown in the daemon's own system calls (strace): before the answer to a
 * write leaves, the SQLite WAL holding it and the audit log holding its line have each been
 * fdatasync'd, in that order (a line is never on disk for a change that is not). kill -9 tests
 * cannot show this: the page cache outlives the process, only a flush outlives the machine.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { startDaemon, type Daemon } from '../helpers/daemon.ts';
import { commandMissing } from '../helpers/tools.ts';

const skip = commandMissing(['strace'], 'strace');

let daemon: Daemon | undefined;
after(async () => daemon?.dispose());

/** Traces `pid` (all threads) while `work` runs; returns strace's lines. */
async function traced(pid: number, out: string, work: () => Promise<void>): Promise<string[]> {
  const strace = spawn('strace', ['-f', '-y', '-s', '24', '-e', 'trace=fdatasync,fsync,write,writev,pwrite64', '-p', String(pid), '-o', out], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  const exited = new Promise<void>((resolve) => strace.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`strace did not attach within 10 s: ${err}`)), 10_000);
    strace.stderr!.on('data', (c: Buffer) => {
      err += c.toString();
      if (/attached/.test(err)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  try {
    await work();
  } finally {
    strace.kill('SIGINT');
    await exited;
  }
  return readFileSync(out, 'utf8').split('\n');
}

describe('the system calls behind a 2xx', { skip }, () => {
  for (const [what, req, status] of [
    ['create', { method: 'POST', path: '/secrets/create', body: { Name: 'traced', Data: 'eA==' } }, '201'],
    ['label update', { method: 'POST', path: '/secrets/traced/update?version=VERSION', body: { Name: 'traced', Labels: { a: 'b' } } }, '200'],
    ['delete', { method: 'DELETE', path: '/secrets/traced' }, '204'],
  ] as const) {
    test(`${what}: the WAL, then the audit log, are fdatasync'd before the ${status} is written`, async () => {
      daemon ??= await startDaemon();
      const pid = daemon.daemonPid;
      assert.ok(pid, 'the daemon wrote its pid');
      let path: string = req.path;
      if (path.includes('VERSION')) path = path.replace('VERSION', String((await daemon.request({ path: '/secrets/traced' })).json.Version.Index));
      const lines = await traced(pid, join(daemon.dir, `${what}.trace`), async () => {
        const res = await daemon!.request({ ...req, path });
        assert.equal(String(res.status), status, res.text);
      });
      const answer = lines.findIndex((l) => l.includes(`"HTTP/1.1 ${status}`));
      assert.ok(answer > 0, `no answer in the trace:\n${lines.join('\n')}`);
      const before = lines.slice(0, answer);
      const walWrite = before.findIndex((l) => /pwrite64\(\d+<[^>]*secretd\.db-wal>/.test(l));
      const walSync = before.findIndex((l) => /fdatasync\(\d+<[^>]*secretd\.db-wal>\) = 0/.test(l));
      const auditWrite = before.findIndex((l) => /write\(\d+<[^>]*audit\.log>/.test(l));
      const auditSync = before.findIndex((l) => /fdatasync\(\d+<[^>]*audit\.log>\) = 0/.test(l));
      const trace = `\n${before.join('\n')}`;
      assert.ok(walWrite >= 0, `the change reached the WAL${trace}`);
      assert.ok(walSync > walWrite, `the WAL is flushed after the change is written to it${trace}`);
      assert.ok(auditWrite > walSync, `the audit line is written once the change is on disk${trace}`);
      assert.ok(auditSync > auditWrite, `the audit line is flushed before the answer${trace}`);
    });
  }
});
