/**
 * Keys are never silently replaced: a data root whose keyring went missing, a `--keyring` that
 * names another file, another data root's keyring, or a `--kek-provider` that cannot open the
 * stored values refuses to start with one line naming the file and the fix, exits non-zero and
 * writes nothing. A fresh data root still creates its keyring (and its folder, 0700); a planted
 * symbolic link at any name the keyring code writes is never followed.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { PROJECT_ROOT, refusedStart, startDaemon, type Daemon } from '../helpers/daemon.ts';
import { etcdMissing, startEtcd } from '../helpers/etcd.ts';

const daemons: Daemon[] = [];
const dirs: string[] = [];
after(async () => {
  for (const d of daemons) await d.dispose();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function start(dataRoot?: string, args: string[] = []): Promise<Daemon> {
  const d = await startDaemon({ dataRoot, args: ['--log-level', 'warn', '--delivery', ...args] });
  daemons.push(d);
  return d;
}

function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), 'secretd-keycheck-'));
  dirs.push(dir);
  return dir;
}

/** Name → SHA-256 of every file below `dir`: "writes nothing" is this map unchanged. */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(p, createHash('sha256').update(readFileSync(p)).digest('hex'));
    }
  };
  walk(dir);
  return out;
}

/** The refusal is one line on stderr (npm adds nothing with --silent), and it says `expected`. */
function assertOneLineRefusal(r: { status: number | null; stderr: string }, expected: RegExp): void {
  assert.notEqual(r.status, 0, r.stderr);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `more than one line on stderr:\n${r.stderr}`);
  assert.match(lines[0]!, /^secretd: /);
  assert.match(lines[0]!, expected);
}

async function create(d: Daemon, names: string[]): Promise<Map<string, string>> {
  const made = new Map<string, string>();
  for (const name of names) {
    const value = `v-${randomBytes(8).toString('hex')}`;
    const res = await d.request({ method: 'POST', path: '/secrets/create', body: { Name: name, Data: Buffer.from(value).toString('base64') } });
    assert.equal(res.status, 201, res.text);
    made.set(name, value);
  }
  return made;
}

async function valuesOf(d: Daemon, names: Iterable<string>): Promise<Map<string, string>> {
  const token = (await d.request({ method: 'POST', path: '/_secretd/v1/tokens', body: { Allow: ['*'] } })).json.Token as string;
  const out = new Map<string, string>();
  for (const name of names) {
    const res = await d.request({ path: `/_secretd/v1/secrets/${name}/value`, headers: { Authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200, `${name}: ${res.text}`);
    out.set(name, res.text);
  }
  return out;
}

describe('the keyring check', () => {
  test('a missing keyring is not replaced: one line naming the file, exit 1, nothing written; restoring it starts the daemon', async () => {
    const d = await start();
    const dataRoot = d.dataRoot;
    const values = await create(d, ['kc-a', 'kc-b', 'kc-c']);
    await d.stop();
    const keyring = join(dataRoot, 'keyring.json');
    const saved = join(scratch(), 'keyring.backup.json');
    copyFileSync(keyring, saved);
    unlinkSync(keyring);
    const before = snapshot(dataRoot);

    const r = refusedStart(dataRoot);
    assertOneLineRefusal(
      r,
      new RegExp(
        `the keyring ${keyring.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is missing, ` +
          'but the store .*secretd\\.db holds values sealed with its keys: restore the file',
      ),
    );
    assert.equal(r.status, 1);
    assert.equal(existsSync(keyring), false, 'no new keyring was created');
    assert.deepEqual(snapshot(dataRoot), before, 'the data root is unchanged');

    // A typo in --keyring: the same refusal, and neither the file nor its folder appears.
    const typo = join(scratch(), 'no-such-folder', 'keyring.json');
    assertOneLineRefusal(refusedStart(dataRoot, ['--keyring', typo]), /is missing, but the store .* holds values sealed with its keys/);
    assert.equal(existsSync(join(typo, '..')), false, 'no folder was created for the typo');
    assert.deepEqual(snapshot(dataRoot), before);

    copyFileSync(saved, keyring);
    chmodSync(keyring, 0o600);
    const again = await start(dataRoot);
    assert.deepEqual(await valuesOf(again, values.keys()), values);
    await again.stop();
  });

  test("another data root's keyring is refused, and the store is left as it was", async () => {
    const a = await start();
    await create(a, ['mine-1', 'mine-2']);
    await a.stop();
    const b = await start();
    await b.stop();
    const before = snapshot(a.dataRoot);
    const r = refusedStart(a.dataRoot, ['--keyring', join(b.dataRoot, 'keyring.json')]);
    assertOneLineRefusal(
      r,
      new RegExp(
        /the keyring .*keyring\.json does not hold the keys that sealed the values in the store .*secretd\.db: /.source +
          /start with the keyring that sealed them \(--keyring FILE\)/.source,
      ),
    );
    assert.deepEqual(snapshot(a.dataRoot), before);
  });

  test('a store from before check values is judged by a sealed value, then given its check', async () => {
    const a = await start();
    const values = await create(a, ['old-1', 'old-2']);
    await a.stop();
    const db = new Database(join(a.dataRoot, 'secretd.db'));
    assert.equal(db.prepare("DELETE FROM meta WHERE key = 'keyring_check'").run().changes, 1, 'the first start stored a check');
    db.close();
    const other = await start();
    await other.stop();
    assertOneLineRefusal(refusedStart(a.dataRoot, ['--keyring', join(other.dataRoot, 'keyring.json')]), /does not hold the keys that sealed the values/);
    const b = await start(a.dataRoot);
    assert.deepEqual(await valuesOf(b, values.keys()), values);
    await b.stop();
    const check = new Database(join(a.dataRoot, 'secretd.db'), { readonly: true });
    assert.ok(check.prepare("SELECT value FROM meta WHERE key = 'keyring_check'").get(), 'the check is stored again');
    check.close();
  });

  test('after a KEK rotation drops the old key, the check still opens; after swarm leave a new keyring is fine', async () => {
    const d = await start();
    const values = await create(d, ['rot-1', 'rot-2']);
    assert.equal((await d.request({ method: 'POST', path: '/_secretd/v1/keys/rotate' })).status, 200);
    const deadline = Date.now() + 20_000;
    for (;;) {
      const k = (await d.request({ path: '/_secretd/v1/keys' })).json;
      if (k.Rotation.State === 'idle' && k.Keys.length === 1) break;
      assert.ok(Date.now() < deadline, JSON.stringify(k));
      await new Promise((r) => setTimeout(r, 50));
    }
    await d.stop();
    const again = await start(d.dataRoot);
    assert.deepEqual(await valuesOf(again, values.keys()), values);
    assert.equal((await again.request({ method: 'POST', path: '/swarm/leave?force=1' })).status, 200);
    await again.stop();
    unlinkSync(join(d.dataRoot, 'keyring.json'));
    const fresh = await start(d.dataRoot);
    assert.equal((await fresh.request({ method: 'POST', path: '/swarm/init', body: { ListenAddr: '0.0.0.0:2377' } })).status, 200);
    await create(fresh, ['after-leave']);
    await fresh.stop();
  });

  test('a --kek-provider that cannot open the stored values is refused, as is one put in front of a keyring-sealed store', async () => {
    const dir = scratch();
    const keksFile = join(dir, 'keks.json');
    writeFileSync(keksFile, JSON.stringify({ current: 'one', keys: { one: randomBytes(32).toString('base64') } }));
    const command = join(dir, 'print-keks');
    writeFileSync(command, `#!/bin/sh\nexec cat ${JSON.stringify(keksFile)}\n`);
    chmodSync(command, 0o700);
    const args = ['--kek-provider', join(PROJECT_ROOT, 'drivers/examples/kek-command.ts'), '--driver-opt', `kek-command.command=${command}`];
    const d = await start(undefined, args);
    await create(d, ['prov-1']);
    await d.stop();
    // The command now prints another key under the same id.
    writeFileSync(keksFile, JSON.stringify({ current: 'one', keys: { one: randomBytes(32).toString('base64') } }));
    const before = snapshot(d.dataRoot);
    assertOneLineRefusal(
      refusedStart(d.dataRoot, args),
      new RegExp(
        /the key provider kek-command cannot open the values in the store .*secretd\.db: /.source +
          /start with the --kek-provider \(and --driver-opt settings\) that sealed them/.source,
      ),
    );
    assert.deepEqual(snapshot(d.dataRoot), before);

    const sealedByFile = await start();
    await create(sealedByFile, ['file-1']);
    await sealedByFile.stop();
    assertOneLineRefusal(refusedStart(sealedByFile.dataRoot, args), /the key provider kek-command cannot open the values/);
  });

  test('a fresh data root creates its keyring; a --keyring in a missing folder gets the folder, 0700', async () => {
    const dir = scratch();
    const keyring = join(dir, 'etc', 'secretd', 'keyring.json');
    const d = await start(join(dir, 'data'), ['--keyring', keyring]);
    await create(d, ['fresh-1']);
    await d.stop();
    assert.equal(statSync(join(dir, 'etc', 'secretd')).mode & 0o777, 0o700);
    assert.equal(statSync(join(dir, 'etc')).mode & 0o777, 0o700);
    assert.equal(statSync(keyring).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'data')).mode & 0o777, 0o700);
  });
});

describe('the keyring check on a shared etcd store', { skip: etcdMissing() }, () => {
  test("the README's etcd start: daemons started together create the keyring's missing folder (0700) and agree; one without the file is refused", async () => {
    const etcd = await startEtcd(1);
    try {
      const dir = scratch();
      const keyring = join(dir, 'etc', 'secretd', 'keyring.json');
      const args = ['--store', etcd.storeUrl('kc'), '--keyring', keyring];
      const [a, b] = await Promise.all([start(undefined, args), start(undefined, args)]);
      assert.equal(statSync(join(dir, 'etc', 'secretd')).mode & 0o777, 0o700);
      const values = await create(a, ['shared-1']);
      assert.deepEqual(await valuesOf(b, values.keys()), values);
      const elsewhere = join(scratch(), 'keyring.json');
      assertOneLineRefusal(
        refusedStart(join(scratch(), 'data'), ['--store', etcd.storeUrl('kc'), '--keyring', elsewhere]),
        /is missing, but the store etcd:\/\/.* holds values sealed with its keys: copy the keyring file the other daemons use there/,
      );
      assert.equal(existsSync(elsewhere), false);
      await a.stop();
      await b.stop();
    } finally {
      await etcd.dispose();
    }
  });
});

describe('planted symbolic links', () => {
  test('a link at the keyring temporary names of the old scheme receives nothing when the keyring is rewritten', async () => {
    const d = await start();
    const pid = d.daemonPid!;
    assert.ok(pid);
    const victim = join(scratch(), 'victim');
    writeFileSync(victim, 'untouched');
    const keyring = join(d.dataRoot, 'keyring.json');
    // Every name the keyring code used to write through: FILE.tmp-PID and FILE.new-PID(.tmp-PID).
    const planted = [`${keyring}.tmp-${pid}`, `${keyring}.new-${pid}`, `${keyring}.new-${pid}.tmp-${pid}`];
    for (const p of planted) symlinkSync(victim, p);
    assert.equal((await d.request({ method: 'POST', path: '/_secretd/v1/keys/rotate' })).status, 200);
    assert.equal(
      (
        await d.request({
          method: 'POST',
          path: '/swarm/update?version=' + (await d.request({ path: '/swarm' })).json.Version.Index,
          body: { Name: 'default', EncryptionConfig: { AutoLockManagers: true } },
        })
      ).status,
      200,
    );
    assert.equal(readFileSync(victim, 'utf8'), 'untouched');
    for (const p of planted) assert.ok(statSync(p, { throwIfNoEntry: false }) !== undefined && readFileSync(p, 'utf8') === 'untouched');
    const leftovers = readdirSync(d.dataRoot).filter((n) => n.startsWith('keyring.json.') && !planted.some((p) => p.endsWith(n)));
    assert.deepEqual(leftovers, [], 'no temporary file is left behind');
    await d.stop();
  });

  test('a link at the audit log or its head file is refused at start, and the file it points to is untouched', async () => {
    const d = await start();
    await create(d, ['audited']);
    await d.stop();
    for (const name of ['audit.log', 'audit.log.head']) {
      const file = join(d.dataRoot, name);
      const saved = readFileSync(file);
      const victim = join(scratch(), 'victim');
      writeFileSync(victim, 'untouched');
      unlinkSync(file);
      symlinkSync(victim, file);
      assertOneLineRefusal(
        refusedStart(d.dataRoot),
        new RegExp(`${name.replace('.', '\\.')} is a symbolic link; secretd does not follow links for its own files`),
      );
      assert.equal(readFileSync(victim, 'utf8'), 'untouched', name);
      unlinkSync(file);
      writeFileSync(file, saved, { mode: 0o600 });
    }
    const again = await start(d.dataRoot);
    await again.stop();
  });

  test('a link at keyring.json of a fresh data root is refused, not followed', () => {
    const dataRoot = join(scratch(), 'data');
    const victim = join(scratch(), 'victim.json');
    writeFileSync(
      victim,
      JSON.stringify({ format: 2, current: 'k1', keys: [{ id: 'k1', key: Buffer.alloc(32, 7).toString('base64'), createdAt: '2020-01-01T00:00:00Z' }] }),
    );
    const before = readFileSync(victim, 'utf8');
    const keyring = join(scratch(), 'keyring.json');
    symlinkSync(victim, keyring);
    assertOneLineRefusal(refusedStart(dataRoot, ['--keyring', keyring]), /keyring\.json is a symbolic link; secretd does not follow links for its own files/);
    assert.equal(readFileSync(victim, 'utf8'), before);
  });
});
