/**
 * Damage is detected, not absorbed. A kill -9'd daemon's WAL cut in half, a deleted database,
 * an older copy restored: the next start refuses in one line naming what is missing (with and
 * without the audit log), leaves the store as it found it, and `--accept-store-loss` starts
 * anyway and says so in the audit log. One daemon per data root is an OS lock: deleting the pid
 * file lets no second daemon in, and kill -9 releases it. A full disk at start is one line.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { refusedStart, startDaemon, type Daemon } from '../helpers/daemon.ts';

const daemons: Daemon[] = [];
const dirs: string[] = [];
const mounts: string[] = [];
after(async () => {
  for (const d of daemons) await d.dispose();
  for (const m of mounts) spawnSync('umount', [m]);
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function start(dataRoot?: string, args: string[] = []): Promise<Daemon> {
  const d = await startDaemon({ dataRoot, args: ['--log-level', 'warn', ...args] });
  daemons.push(d);
  return d;
}

function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), 'secretd-damage-'));
  dirs.push(dir);
  return dir;
}

function assertOneLineRefusal(r: { status: number | null; stderr: string }, expected: RegExp): string {
  assert.notEqual(r.status, 0, r.stderr);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `more than one line on stderr:\n${r.stderr}`);
  assert.match(lines[0]!, /^secretd: /);
  assert.match(lines[0]!, expected);
  return lines[0]!;
}

function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const n of readdirSync(dir).sort()) {
    const p = join(dir, n);
    if (statSync(p).isFile()) out.set(n, createHash('sha256').update(readFileSync(p)).digest('hex'));
  }
  return out;
}

async function createN(d: Daemon, prefix: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const res = await d.request({ method: 'POST', path: '/secrets/create', body: { Name: `${prefix}-${i}`, Data: 'eA==' } });
    assert.equal(res.status, 201, res.text);
  }
}

async function count(d: Daemon): Promise<number> {
  return (await d.request({ path: '/secrets' })).json.length;
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('store damage', () => {
  test(
    'a WAL cut in half after kill -9 is refused, naming the missing commits; nothing changes; ' + '--accept-store-loss starts with what is left and audits it',
    async (t) => {
      const d = await start();
      // Few enough writes that SQLite never checkpoints (8000 WAL pages): the WAL then holds every
      // commit in order, and its second half the last ones.
      await createN(d, 'wal', 60);
      await d.kill9();
      const wal = join(d.dataRoot, 'secretd.db-wal');
      truncateSync(wal, Math.floor(statSync(wal).size / 2));
      const before = snapshot(d.dataRoot);

      const line = assertOneLineRefusal(
        refusedStart(d.dataRoot),
        new RegExp(
          `the store ${escapeRegExp(join(d.dataRoot, 'secretd.db'))} holds \\d+ commits, but the (audit log|checkpoint file) .* records \\d+: ` +
            'the last \\d+ commits of acknowledged writes are missing .*--accept-store-loss',
        ),
      );
      const [, held, recorded] = /holds (\d+) commits, but .* records (\d+)/.exec(line)!;
      assert.ok(Number(held) < Number(recorded), line);
      const after1 = snapshot(d.dataRoot);
      // The pid file is the refused daemon's; the -shm file is SQLite's index of the WAL, rebuilt
      // from it by any reader (data lives in the database and the WAL).
      for (const m of [before, after1]) for (const n of ['secretd.pid', 'secretd.db-shm']) m.delete(n);
      assert.deepEqual(after1, before, 'the refused start changed nothing (no WAL recovery, no checkpoint)');

      const accepted = await start(d.dataRoot, ['--accept-store-loss']);
      const left = await count(accepted);
      assert.ok(left < 200, `only ${left} of 200 secrets are left`);
      t.diagnostic(`store held ${held} of ${recorded} commits; ${left} of 200 secrets left after accepting the loss`);
      assert.match(accepted.logs, /--accept-store-loss: starting with what the store holds/);
      await accepted.stop();
      const audit = readFileSync(join(d.dataRoot, 'audit.log'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      const loss = audit.find((r) => r.action === 'store.loss_accepted');
      assert.ok(loss, 'the loss is in the audit log');
      assert.equal(loss.acknowledged.commits, Number(recorded));
      assert.equal(loss.store.commits, Number(held));
      // From then on the witnesses follow the store: a plain start works.
      const plain = await start(d.dataRoot);
      assert.equal(await count(plain), left);
      await plain.stop();
    },
  );

  test('a deleted database is refused while the audit log and the checkpoint file know it, and no empty one is made', async () => {
    const d = await start();
    await createN(d, 'del', 20);
    await d.stop();
    for (const n of readdirSync(d.dataRoot)) if (n.startsWith('secretd.db') && !n.endsWith('.checkpoint')) unlinkSync(join(d.dataRoot, n));
    assertOneLineRefusal(
      refusedStart(d.dataRoot),
      new RegExp(
        /the store .*secretd\.db is missing, but the (audit log|checkpoint file) .* records \d+ commits of acknowledged writes to it: /.source +
          /restore .* or start with --accept-store-loss/.source,
      ),
    );
    assert.equal(existsSync(join(d.dataRoot, 'secretd.db')), false);
    // With the checkpoint file gone too, the audit log alone still knows.
    unlinkSync(join(d.dataRoot, 'secretd.db.checkpoint'));
    assertOneLineRefusal(refusedStart(d.dataRoot), /the store .*secretd\.db is missing, but the audit log .*audit\.log records \d+ commits/);
    const fresh = await start(d.dataRoot, ['--accept-store-loss']);
    assert.equal(await count(fresh), 0);
    await fresh.stop();
    const again = await start(d.dataRoot);
    await again.stop();
  });

  test('with --no-audit the checkpoint file alone detects an older copy restored and a database from another data root', async () => {
    const d = await start(undefined, ['--no-audit']);
    await createN(d, 'old', 5);
    await d.stop();
    const saved = join(scratch(), 'old.db');
    copyFileSync(join(d.dataRoot, 'secretd.db'), saved);
    const more = await start(d.dataRoot, ['--no-audit']);
    await createN(more, 'new', 5);
    await more.stop();
    copyFileSync(saved, join(d.dataRoot, 'secretd.db'));
    assertOneLineRefusal(
      refusedStart(d.dataRoot, ['--no-audit']),
      /holds \d+ commits, but the checkpoint file .*secretd\.db\.checkpoint records \d+: the last 5 commits of acknowledged writes are missing/,
    );

    const other = await start(undefined, ['--no-audit']);
    await createN(other, 'other', 9);
    await other.stop();
    copyFileSync(join(other.dataRoot, 'secretd.db'), join(d.dataRoot, 'secretd.db'));
    assertOneLineRefusal(
      refusedStart(d.dataRoot, ['--no-audit']),
      /the store .*secretd\.db is not the database the checkpoint file .* records \(it was deleted and recreated, or replaced by another copy/,
    );
  });
});

describe('the data-root lock', () => {
  test('a second daemon is refused even after the pid file is deleted; kill -9 releases the lock', async () => {
    const a = await start();
    unlinkSync(join(a.dataRoot, 'secretd.pid'));
    const before = readFileSync(join(a.dataRoot, 'audit.log'));
    assertOneLineRefusal(
      refusedStart(a.dataRoot),
      new RegExp(`another secretd( \\(pid \\d+\\))? is using the data root ${escapeRegExp(a.dataRoot)} \\(it holds .*secretd\\.lock locked\\); stop it first`),
    );
    assert.deepEqual(readFileSync(join(a.dataRoot, 'audit.log')), before, 'the refused daemon wrote nothing to the audit log');
    assert.equal((await a.request({ method: 'POST', path: '/secrets/create', body: { Name: 'still-a', Data: 'eA==' } })).status, 201);
    // With the pid file back, the refusal names the daemon.
    const a2 = await start();
    assertOneLineRefusal(refusedStart(a2.dataRoot), new RegExp(`another secretd \\(pid ${a2.daemonPid}\\) is using the data root`));
    await a.kill9();
    const b = await start(a.dataRoot);
    assert.equal((await b.request({ path: '/secrets/still-a' })).status, 200);
    await b.stop();
  });

  test('deleting the lock file and the pid file too: the daemon locks a new lock file at once, and a second daemon is still refused', async () => {
    const a = await start();
    const lock = join(a.dataRoot, 'secretd.lock');
    const pid = join(a.dataRoot, 'secretd.pid');
    unlinkSync(lock);
    unlinkSync(pid);
    const deadline = Date.now() + 5000;
    while (!existsSync(lock) || !existsSync(pid)) {
      assert.ok(Date.now() < deadline, 'the lock and pid files came back');
      await new Promise((r) => setTimeout(r, 20));
    }
    assertOneLineRefusal(refusedStart(a.dataRoot), new RegExp(`another secretd \\(pid ${a.daemonPid}\\) is using the data root`));
    assert.equal((await a.request({ method: 'POST', path: '/secrets/create', body: { Name: 'still-here', Data: 'eA==' } })).status, 201);
    await a.stop();
  });

  test('planted links at the lock, pid and checkpoint files are refused or replaced, never written through', async () => {
    const d = await start();
    await d.stop();
    for (const name of ['secretd.lock', 'secretd.pid', 'secretd.db.checkpoint']) {
      const file = join(d.dataRoot, name);
      const saved = existsSync(file) ? readFileSync(file) : undefined;
      const victim = join(scratch(), 'victim');
      writeFileSync(victim, 'untouched');
      rmSync(file, { force: true });
      symlinkSync(victim, file);
      if (name === 'secretd.pid') {
        const ok = await start(d.dataRoot); // renamed over the link: the link is gone, not followed
        assert.equal(readFileSync(victim, 'utf8'), 'untouched', name);
        await ok.stop();
        continue;
      }
      assertOneLineRefusal(refusedStart(d.dataRoot), new RegExp(`${escapeRegExp(name)} is a symbolic link; secretd does not follow links for its own files`));
      assert.equal(readFileSync(victim, 'utf8'), 'untouched', name);
      unlinkSync(file);
      if (saved) writeFileSync(file, saved, { mode: 0o600 });
    }
  });
});

describe('a full disk', () => {
  test('a restart on a full disk is one clear line, not a stack trace', async (t) => {
    const mnt = join(scratch(), 'mnt');
    mkdirSync(mnt);
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', mnt]);
    if (mounted.status !== 0) {
      t.skip(`cannot mount a tmpfs here: ${mounted.stderr?.toString().trim()}`);
      return;
    }
    mounts.push(mnt);
    const dataRoot = join(mnt, 'data');
    const d = await start(dataRoot);
    await createN(d, 'full', 10);
    await d.stop();
    // Fill the file system to the last byte.
    const filler = join(mnt, 'filler');
    spawnSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=64k']);
    spawnSync('dd', ['if=/dev/zero', `of=${filler}-tail`, 'bs=1']);
    const r = refusedStart(dataRoot);
    assertOneLineRefusal(
      r,
      new RegExp(`--data-root ${escapeRegExp(dataRoot)}: the disk holding it is full \\((ENOSPC|SQLITE_FULL)\\): free some space, then start again`),
    );
    unlinkSync(filler);
    unlinkSync(`${filler}-tail`);
    const again = await start(dataRoot);
    assert.equal(await count(again), 10);
    await again.stop();
  });
});
