/**
 * SQLite's own failures answer 503, as etcd's do: a full disk (SQLITE_FULL, a real tmpfs filled
 * to the last byte) and a write lock held by another connection (SQLITE_BUSY). The refused write
 * leaves nothing behind: the name is free afterwards, and a restart finds exactly what was
 * answered 201.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { startDaemon, type Daemon } from '../helpers/daemon.ts';
import { missing } from '../helpers/tools.ts';

const daemons: Daemon[] = [];
const dirs: string[] = [];
const mounts: string[] = [];
after(async () => {
  for (const d of daemons) await d.dispose();
  for (const m of mounts) spawnSync('umount', [m]);
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), 'secretd-unavailable-'));
  dirs.push(dir);
  return dir;
}

async function start(dataRoot: string | undefined, args: string[] = []): Promise<Daemon> {
  const d = await startDaemon({ dataRoot, args: ['--log-level', 'warn', ...args] });
  daemons.push(d);
  return d;
}

const create = (d: Daemon, name: string, bytes: number) =>
  d.request({ method: 'POST', path: '/secrets/create', body: { Name: name, Data: randomBytes(bytes).toString('base64') } });

async function names(d: Daemon): Promise<string[]> {
  const res = await d.request({ path: '/secrets' });
  assert.equal(res.status, 200, res.text);
  return (res.json as { Spec: { Name: string } }[]).map((s) => s.Spec.Name).sort();
}

/** A tmpfs of `size` at a new folder, or undefined (and a reported skip) where mount is not allowed. */
function tmpfs(size: string): string | undefined {
  const mnt = join(scratch(), 'mnt');
  mkdirSync(mnt);
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', mnt], { encoding: 'utf8' });
  if (r.status !== 0) return void missing(`root to mount a tmpfs (mount: ${r.stderr.trim()})`);
  mounts.push(mnt);
  return mnt;
}

describe('SQLite failures answer 503 and write nothing', () => {
  test('a create on a full disk answers 503 SQLITE_FULL; the name stays free and a restart finds only what was answered 201', async (t) => {
    const mnt = tmpfs('8m');
    if (!mnt) return t.skip('cannot mount a tmpfs here');
    const dataRoot = join(mnt, 'data');
    // The audit log is elsewhere: this is about the store's answer, not the audit log's.
    const auditLog = join(scratch(), 'audit.log');
    const d = await start(dataRoot, ['--audit-log', auditLog]);
    const tag = randomBytes(4).toString('hex');
    const kept = [`kept-${tag}-a`, `kept-${tag}-b`];
    for (const n of kept) assert.equal((await create(d, n, 64)).status, 201);

    // Fill the file system to the last byte; a value of 400 KB needs new pages in the WAL.
    const filler = join(mnt, 'filler');
    spawnSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=64k'], { stdio: 'ignore' });
    spawnSync('dd', ['if=/dev/zero', `of=${filler}-tail`, 'bs=1'], { stdio: 'ignore' });
    const refused = `full-${tag}`;
    const res = await create(d, refused, 400_000);
    assert.equal(res.status, 503, res.text);
    assert.match(res.json.message, /the store \(secretd\.db\) cannot be used: the disk is full \(SQLITE_FULL/);
    assert.deepEqual(await names(d), kept, 'reads still work on a full disk, and the refused create is not there');

    unlinkSync(filler);
    unlinkSync(`${filler}-tail`);
    assert.equal((await create(d, refused, 400_000)).status, 201, 'with room again, the same name is free');
    assert.equal(await d.stop(), 0);
    const again = await start(dataRoot, ['--audit-log', auditLog]);
    assert.deepEqual(await names(again), [...kept, refused].sort());
  });

  test('a create while another connection holds the write lock answers 503 SQLITE_BUSY, and writes nothing', async () => {
    const d = await start(undefined);
    const tag = randomBytes(4).toString('hex');
    const kept = `kept-${tag}`;
    assert.equal((await create(d, kept, 64)).status, 201);
    const other = new Database(join(d.dataRoot, 'secretd.db'));
    try {
      other.exec('BEGIN IMMEDIATE'); // the one write lock of a WAL database, until ROLLBACK
      const res = await create(d, `busy-${tag}`, 64); // the daemon waits out its busy_timeout (5 s)
      assert.equal(res.status, 503, res.text);
      assert.match(res.json.message, /the store \(secretd\.db\) cannot be used: another process holds its lock \(SQLITE_BUSY/);
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    assert.deepEqual(await names(d), [kept]);
    assert.equal((await create(d, `busy-${tag}`, 64)).status, 201, 'with the lock released, the same name is free');
  });
});
