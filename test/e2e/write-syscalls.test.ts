/**
 * What a 2xx means, shown in the daemon's own system calls (strace): before the answer to a
 * write leaves, the SQLite WAL holding the change and its audit line (the store's audit
 * journal) has been fdatasync'd, and the line has then been written to the audit log, whose own
 * flush follows in the background (src/audit/log.ts). kill -9 tests
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
  return whole(readFileSync(out, 'utf8').split('\n'));
}

/**
 * strace's lines with every call whole, where it ended: a call that another thread's call
 * interrupted in the output comes as `PID call(… <unfinished ...>` and later `PID <... call
 * resumed>)   = 0`; joined, it sits at the resumed line, once it had returned.
 */
function whole(lines: string[]): string[] {
  const started = new Map<string, string>();
  const out: string[] = [];
  for (const line of lines) {
    const unfinished = /^(\d+) (.*) <unfinished \.\.\.>$/.exec(line);
    if (unfinished) {
      started.set(unfinished[1]!, unfinished[2]!);
      continue;
    }
    const resumed = /^(\d+) <\.\.\. \w+ resumed>(.*)$/.exec(line);
    const start = resumed && started.get(resumed[1]!);
    if (resumed && start !== undefined) {
      started.delete(resumed[1]!);
      out.push(`${resumed[1]} ${start}${resumed[2]!.replace(/^\)\s+=/, ') =')}`); // strace pads the resumed part
    } else out.push(line);
  }
  return out;
}

describe('the system calls behind a 2xx', { skip }, () => {
  for (const [what, req, status] of [
    ['create', { method: 'POST', path: '/secrets/create', body: { Name: 'traced', Data: 'eA==' } }, '201'],
    ['label update', { method: 'POST', path: '/secrets/traced/update?version=VERSION', body: { Name: 'traced', Labels: { a: 'b' } } }, '200'],
    ['delete', { method: 'DELETE', path: '/secrets/traced' }, '204'],
  ] as const) {
    test(`${what}: the WAL holding the change and its audit line is fdatasync'd before the ${status} is written`, async () => {
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
      const walWrites = before.flatMap((l, i) => (/pwrite64\(\d+<[^>]*secretd\.db-wal>/.test(l) ? [i] : []));
      const walSyncs = before.flatMap((l, i) => (/fdatasync\(\d+<[^>]*secretd\.db-wal>\) = 0/.test(l) ? [i] : []));
      const auditWrite = before.findIndex((l) => /write\(\d+<[^>]*audit\.log>/.test(l));
      const trace = `\n${before.join('\n')}`;
      assert.ok(walWrites.length > 0, `the change reached the WAL${trace}`);
      const lastSync = walSyncs.at(-1) ?? -1;
      assert.ok(lastSync > walWrites.at(-1)!, `every WAL write before the answer is flushed before it${trace}`);
      // The first flush after the change's frames covers them and the line's; a commit that trims
      // earlier lines from the journal may come, and be flushed, after the line's file write.
      const firstSync = walSyncs.find((i) => i > walWrites[0]!) ?? -1;
      assert.ok(firstSync >= 0 && auditWrite > firstSync, `the audit line is written to its file once it is on disk${trace}`);
      // On disk in the WAL, that is: the line travels in the store's commit (its journal), so
      // one flush covers the change and its line.
      const line = readFileSync(join(daemon.dataRoot, 'audit.log'), 'utf8').trimEnd().split('\n').at(-1)!;
      assert.match(line, new RegExp(`"status":${status}`));
      assert.ok(readFileSync(join(daemon.dataRoot, 'secretd.db-wal')).includes(line), `the audit line is in the WAL${trace}`);
    });
  }
});
