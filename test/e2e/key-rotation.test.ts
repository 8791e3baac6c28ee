/**
 * Key-encryption key rotation on a real daemon: the API keeps serving while data keys are
 * re-wrapped, a kill -9 at random moments of a rotation loses nothing, data roots written in
 * the format-1 layout are migrated at start, and a KEK provider module that asks an external
 * command (drivers/examples/kek-command.ts) holds the keys.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { seal as sealLegacy } from '../../src/crypto/legacy-envelope.ts';
import { rfc3339Nano } from '../../src/core/clock.ts';
import { newId } from '../../src/core/ids.ts';
import { SqliteStore } from '../../src/store/sqlite.ts';
import { PROJECT_ROOT, startDaemon, type Daemon } from '../helpers/daemon.ts';

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
  const dir = mkdtempSync(join(tmpdir(), 'secretd-rotation-'));
  dirs.push(dir);
  return dir;
}

/** Every value through the delivery endpoint, with a token that may read everything. */
async function valuesOf(d: Daemon, names: string[]): Promise<Map<string, string>> {
  const token = (await d.request({ method: 'POST', path: '/_secretd/v1/tokens', body: { Allow: ['*'] } })).json.Token as string;
  const out = new Map<string, string>();
  for (let i = 0; i < names.length; i += 16) {
    await Promise.all(
      names.slice(i, i + 16).map(async (name) => {
        const res = await d.request({ path: `/_secretd/v1/secrets/${name}/value`, headers: { Authorization: `Bearer ${token}` } });
        assert.equal(res.status, 200, `${name}: ${res.text}`);
        out.set(name, res.text);
      }),
    );
  }
  return out;
}

async function createMany(d: Daemon, prefix: string, n: number): Promise<Map<string, string>> {
  const made = new Map<string, string>();
  for (let i = 0; i < n; i += 32) {
    await Promise.all(
      Array.from({ length: Math.min(32, n - i) }, async (_, j) => {
        const name = `${prefix}-${i + j}`;
        const value = `value-${i + j}-${randomBytes(6).toString('hex')}`;
        const res = await d.request({ method: 'POST', path: '/secrets/create', body: { Name: name, Data: Buffer.from(value).toString('base64') } });
        assert.equal(res.status, 201, res.text);
        made.set(name, value);
      }),
    );
  }
  return made;
}

async function keysState(d: Daemon): Promise<{ CurrentKey: string; Keys: string[]; Rotation: { State: string; Failed: number } }> {
  const res = await d.request({ path: '/_secretd/v1/keys' });
  assert.equal(res.status, 200, res.text);
  return res.json;
}

/** Waits until no rotation runs and a single KEK is left. */
async function rotationDone(d: Daemon, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await keysState(d);
    if (s.Rotation.State === 'idle' && s.Keys.length === 1) return;
    assert.notEqual(s.Rotation.State, 'failed');
    assert.ok(Date.now() < deadline, `rotation did not finish: ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The format byte of every sealed value in a stopped daemon's SQLite file. */
function sealedFormats(dataRoot: string): number[] {
  const db = new Database(join(dataRoot, 'secretd.db'), { readonly: true });
  try {
    return db
      .prepare<[], { sealed: Buffer }>('SELECT sealed FROM secrets WHERE sealed IS NOT NULL')
      .all()
      .map((r) => r.sealed[0]!);
  } finally {
    db.close();
  }
}

describe('KEK rotation', () => {
  test('a rotation re-wraps every data key in the background while creates keep being served, then drops the old KEK', async () => {
    const d = await start();
    const values = await createMany(d, 'rot', 150);
    const before = await keysState(d);
    const rotated = await d.request({ method: 'POST', path: '/_secretd/v1/keys/rotate' });
    assert.equal(rotated.status, 200, rotated.text);
    assert.notEqual(rotated.json.CurrentKey, before.CurrentKey);
    // Served during the walk, sealed with the new KEK at once.
    for (const [k, v] of await createMany(d, 'during', 40)) values.set(k, v);
    await rotationDone(d);
    assert.deepEqual((await keysState(d)).Keys, [rotated.json.CurrentKey]);
    assert.deepEqual(await valuesOf(d, [...values.keys()]), values);
    const versions = (await d.request({ path: '/secrets' })).json.map((s: any) => s.Version.Index);
    assert.equal(new Set(versions).size, versions.length);
    await d.stop();
  });

  test('a rotation re-wraps every kept version of a value and every removed secret, so each still opens once the old KEK is gone', async () => {
    const d = await start(undefined, ['--recovery-window', '1h', '--keep-versions', '5']);
    const made = await createMany(d, 'kept', 6);
    const names = [...made.keys()];
    for (const name of names) {
      for (const n of [2, 3]) {
        const res = await d.request({
          method: 'POST',
          path: `/_secretd/v1/secrets/${name}/versions`,
          body: { Data: Buffer.from(`${made.get(name)}-v${n}`).toString('base64') },
        });
        assert.equal(res.status, 201, res.text);
      }
    }
    const removed = names.at(-1)!;
    assert.equal((await d.request({ method: 'DELETE', path: `/secrets/${removed}` })).status, 204);
    for (let i = 0; i < 2; i++) {
      assert.equal((await d.request({ method: 'POST', path: '/_secretd/v1/keys/rotate' })).status, 200);
      await rotationDone(d);
    }
    assert.equal((await d.request({ method: 'POST', path: `/_secretd/v1/removed-secrets/${removed}/restore` })).status, 200);
    // Every version of every secret opens under the one KEK left: roll each back to 1, then to 2.
    for (const n of [1, 2]) {
      for (const name of names) {
        const res = await d.request({ method: 'POST', path: `/_secretd/v1/secrets/${name}/versions/${n}/rollback` });
        assert.equal(res.status, 200, res.text);
      }
      const values = await valuesOf(d, names);
      for (const name of names) assert.equal(values.get(name), n === 1 ? made.get(name) : `${made.get(name)}-v2`, `${name} at version ${n}`);
    }
  });

  test('kill -9 at 12 random moments of rotations loses nothing, and the rotation completes after restart', { timeout: 300_000 }, async () => {
    let d = await start();
    const dataRoot = d.dataRoot;
    const values = await createMany(d, 'kill', 400);
    // Random kill moments, printed so that a failing run can be replayed.
    const delays = Array.from({ length: 12 }, () => Math.floor(Math.random() * 120));
    process.stderr.write(`# kill -9 delays (ms): ${delays.join(',')}\n`);
    for (const [round, delay] of delays.entries()) {
      let stop = false;
      // A writer keeps creating during the rotation; only its acknowledged creates must survive.
      const writer = (async () => {
        for (let i = 0; !stop; i++) {
          const name = `w${round}-${i}`;
          const value = `written-${round}-${i}`;
          try {
            const res = await d.request({ method: 'POST', path: '/secrets/create', body: { Name: name, Data: Buffer.from(value).toString('base64') } });
            if (res.status === 201) values.set(name, value);
          } catch {
            return;
          }
        }
      })();
      const rotate = d.request({ method: 'POST', path: '/_secretd/v1/keys/rotate' }).catch(() => undefined);
      await new Promise((r) => setTimeout(r, delay));
      await d.kill9();
      stop = true;
      await Promise.all([writer, rotate]);
      d = await start(dataRoot);
    }
    await rotationDone(d, 60_000);
    assert.deepEqual(await valuesOf(d, [...values.keys()]), values, `kill -9 delays (ms): ${delays.join(',')}`);
    await d.stop();
    assert.deepEqual(new Set(sealedFormats(dataRoot)), new Set([2]));
    const file = JSON.parse(readFileSync(join(dataRoot, 'keyring.json'), 'utf8')) as { keys: unknown[] };
    assert.equal(file.keys.length, 1, 'only the current KEK is left');
  });
});

describe('migration of format-1 data roots', () => {
  test('values sealed by the format-1 code (keyring.json format 1, no data keys) all survive and are re-sealed as format 2 at start', async () => {
    const dataRoot = join(scratch(), 'data');
    mkdirSync(dataRoot, { mode: 0o700 });
    // The data root as secretd wrote it before envelope encryption: the same key file, the
    // same table, values sealed directly under the key with the record's ID as context.
    const key = randomBytes(32);
    writeFileSync(
      join(dataRoot, 'keyring.json'),
      JSON.stringify({ format: 1, current: 'k1', keys: [{ id: 'k1', key: key.toString('base64'), createdAt: rfc3339Nano() }] }, null, 2) + '\n',
      { mode: 0o600 },
    );
    const store = new SqliteStore(join(dataRoot, 'secretd.db'));
    const values = new Map<string, string>();
    const now = rfc3339Nano();
    await store.writeSwarm({
      state: 'active',
      cluster: {
        id: newId(),
        nodeId: newId(),
        version: 0,
        createdAt: now,
        updatedAt: now,
        listenAddr: '0.0.0.0:2377',
        advertiseAddr: '127.0.0.1:2377',
        autoLockManagers: false,
        labels: {},
        joinTokens: { worker: 'SWMTKN-1-a-b', manager: 'SWMTKN-1-a-c' },
      },
    });
    for (let i = 0; i < 60; i++) {
      const id = newId();
      const value = i === 0 ? Buffer.alloc(400 * 1024, 7).toString('latin1') : `old-value-${i}-${randomBytes(4).toString('hex')}`;
      await store.createSecret({
        id,
        name: `old-${i}`,
        labels: { i: String(i) },
        createdAt: rfc3339Nano(),
        sealed: sealLegacy({ id: 'k1', key }, Buffer.from(value, 'latin1'), `secretd/secret/${id}`),
      });
      values.set(`old-${i}`, value);
    }
    await store.close();
    assert.deepEqual(new Set(sealedFormats(dataRoot)), new Set([1]));

    const d = await start(dataRoot);
    await rotationDone(d);
    const read = await valuesOf(d, [...values.keys()]);
    for (const [name, value] of values) assert.equal(Buffer.from(read.get(name)!, 'utf8').toString('latin1') === value || read.get(name) === value, true, name);
    assert.equal(read.get('old-1'), values.get('old-1'));
    // Labels are unchanged, and an update with the same Data is accepted (the value compares equal).
    const s = (await d.request({ path: '/secrets/old-1' })).json;
    assert.deepEqual(s.Spec.Labels, { i: '1' });
    const upd = await d.request({
      method: 'POST',
      path: `/secrets/old-1/update?version=${s.Version.Index}`,
      body: { Name: 'old-1', Labels: { i: 'x' }, Data: Buffer.from(values.get('old-1')!).toString('base64') },
    });
    assert.equal(upd.status, 200, upd.text);
    await d.stop();
    assert.deepEqual(new Set(sealedFormats(dataRoot)), new Set([2]));
  });
});

describe('the kek-command key provider', () => {
  test('KEKs from an external command: values open after a restart, a rotation moves to the new key, and the old key can then be dropped', async () => {
    const dir = scratch();
    const keksFile = join(dir, 'keks.json');
    const k1 = randomBytes(32).toString('base64');
    const k2 = randomBytes(32).toString('base64');
    writeFileSync(keksFile, JSON.stringify({ current: 'one', keys: { one: k1 } }));
    const command = join(dir, 'print-keks');
    writeFileSync(command, `#!/bin/sh\nexec cat ${JSON.stringify(keksFile)}\n`);
    chmodSync(command, 0o700);
    const args = ['--kek-provider', join(PROJECT_ROOT, 'drivers/examples/kek-command.ts'), '--driver-opt', `kek-command.command=${command}`];

    let d = await start(undefined, args);
    const dataRoot = d.dataRoot;
    const values = await createMany(d, 'cmd', 30);
    const state = await keysState(d);
    assert.equal((state as unknown as { Provider: string }).Provider, 'kek-command');
    assert.equal(state.CurrentKey, 'one');
    await d.stop();
    assert.equal(readFileSync(join(dataRoot, 'secretd.db')).includes(Buffer.from(k1, 'base64')), false);

    d = await start(dataRoot, args);
    assert.deepEqual(await valuesOf(d, [...values.keys()]), values);
    // Rotation needs the command to name a new current key first.
    const refused = await d.request({ method: 'POST', path: '/_secretd/v1/keys/rotate' });
    assert.equal(refused.status, 500);
    writeFileSync(keksFile, JSON.stringify({ current: 'two', keys: { one: k1, two: k2 } }));
    const rotated = await d.request({ method: 'POST', path: '/_secretd/v1/keys/rotate' });
    assert.equal(rotated.status, 200, rotated.text);
    assert.equal(rotated.json.CurrentKey, 'two');
    const deadline = Date.now() + 20_000;
    while ((await keysState(d)).Rotation.State !== 'idle') {
      assert.ok(Date.now() < deadline);
      await new Promise((r) => setTimeout(r, 50));
    }
    await d.stop();

    writeFileSync(keksFile, JSON.stringify({ current: 'two', keys: { two: k2 } }));
    d = await start(dataRoot, args);
    assert.deepEqual(await valuesOf(d, [...values.keys()]), values);
    await d.stop();
  });

  test('a daemon whose kek-command fails does not start, and says why without printing keys', async () => {
    const dir = scratch();
    const command = join(dir, 'fails');
    writeFileSync(command, '#!/bin/sh\necho oops >&2\nexit 3\n');
    chmodSync(command, 0o700);
    await assert.rejects(
      start(undefined, ['--kek-provider', join(PROJECT_ROOT, 'drivers/examples/kek-command.ts'), '--driver-opt', `kek-command.command=${command}`]),
      /key provider .*kek-command\.ts: init failed: kek-command: .*fails failed \(3\)/,
    );
  });
});
