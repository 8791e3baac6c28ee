/**
 * Autolock as Swarm's, through the Engine API and the docker CLI. The unlocked part runs the
 * same steps against secretd and the reference dockerd and compares the answers (the reference
 * is shared: it is always put back to autolock off, with its own spec, afterwards). Locking a
 * dockerd needs a restart, which a shared reference cannot have: the locked answers below are
 * what dockerd 20.10 answered live on a private instance (the README's autolock section).
 */
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { docker } from '../helpers/cli.ts';
import { startDaemon, type Daemon } from '../helpers/daemon.ts';
import { request, type RawRequest, type RawResponse } from '../helpers/http.ts';
import { dockerCliMissing, referenceDockerd } from '../helpers/tools.ts';

const daemons: Daemon[] = [];
after(async () => {
  for (const d of daemons) await d.dispose();
});

async function start(dataRoot?: string, args: string[] = []): Promise<Daemon> {
  const d = await startDaemon({ dataRoot, args: ['--log-level', 'warn', ...args] });
  daemons.push(d);
  return d;
}

const LOCKED = 'Swarm is encrypted and needs to be unlocked before it can be used. Please use "docker swarm unlock" to unlock it.';
const KEY = /^SWMKEY-1-[A-Za-z0-9+/]{43}$/;
const ref = referenceDockerd();
const cliMissing = dockerCliMissing();

/** One side of the comparison: a host and its API prefix. */
type Side = (req: RawRequest) => Promise<RawResponse>;
const side =
  (host: string, prefix: string): Side =>
  (req) =>
    request(host, { ...req, path: prefix + req.path });

/** GET /swarm's Spec with autolock set as asked: the rest of the reference's spec is kept. */
async function specWith(api: Side, autolock: boolean): Promise<{ version: number; spec: any }> {
  const s = (await api({ path: '/swarm' })).json;
  return { version: s.Version.Index, spec: { ...s.Spec, EncryptionConfig: { AutoLockManagers: autolock } } };
}

/** The unlocked autolock steps, as status + body with the keys' values abstracted. */
async function unlockedSteps(api: Side): Promise<string[]> {
  const out: string[] = [];
  const record = (what: string, r: RawResponse) => out.push(`${what}: ${r.status} ${r.text.replace(/SWMKEY-1-[A-Za-z0-9+/]+/g, 'SWMKEY-1-<key>').trim()}`);
  record('unlockkey while off', await api({ path: '/swarm/unlockkey' }));
  record('unlock while not locked', await api({ method: 'POST', path: '/swarm/unlock', body: { UnlockKey: 'SWMKEY-1-aGVsbG8' } }));
  record('unlock, malformed key, not locked', await api({ method: 'POST', path: '/swarm/unlock', body: { UnlockKey: 'bad' } }));
  let { version, spec } = await specWith(api, false);
  record('update, bad rotate flag', await api({ method: 'POST', path: `/swarm/update?version=${version}&rotateManagerUnlockKey=maybe`, body: spec }));
  record('update, no version', await api({ method: 'POST', path: '/swarm/update', body: spec }));
  record('rotate unlock key while off', await api({ method: 'POST', path: `/swarm/update?version=${version}&rotateManagerUnlockKey=true`, body: spec }));
  record('unlockkey still off', await api({ path: '/swarm/unlockkey' }));
  ({ version, spec } = await specWith(api, true));
  record('autolock on', await api({ method: 'POST', path: `/swarm/update?version=${version}`, body: spec }));
  const after = await specWith(api, true);
  out.push(`version grew: ${after.version > version}`);
  out.push(`shown on: ${(await api({ path: '/swarm' })).json.Spec.EncryptionConfig.AutoLockManagers}`);
  out.push(`info unchanged: ${(await api({ path: '/info' })).json.Swarm.LocalNodeState}`);
  const first = (await api({ path: '/swarm/unlockkey' })).json.UnlockKey as string;
  out.push(`key format: ${KEY.test(first)}`);
  record('update, stale version', await api({ method: 'POST', path: `/swarm/update?version=${version}`, body: spec }));
  record('rotate unlock key', await api({ method: 'POST', path: `/swarm/update?version=${after.version}&rotateManagerUnlockKey=true`, body: after.spec }));
  const second = (await api({ path: '/swarm/unlockkey' })).json.UnlockKey as string;
  out.push(`rotated: ${KEY.test(second) && second !== first}`);
  record('unlock while unlocked, the right key', await api({ method: 'POST', path: '/swarm/unlock', body: { UnlockKey: second } }));
  ({ version, spec } = await specWith(api, false));
  record('autolock off', await api({ method: 'POST', path: `/swarm/update?version=${version}`, body: spec }));
  record('unlockkey after off', await api({ path: '/swarm/unlockkey' }));
  return out;
}

describe('autolock', () => {
  test('unlocked: unlockkey, unlock, update --autolock and key rotation answer as the reference dockerd does', {
    skip: 'skip' in ref ? ref.skip : false,
  }, async () => {
    const d = await start();
    const refApi = side((ref as { host: string }).host, '/v1.41');
    try {
      const expected = await unlockedSteps(refApi);
      const actual = await unlockedSteps(side(d.host, '/v1.44'));
      assert.deepEqual(actual, expected);
    } finally {
      // Never leave the shared reference with autolock on.
      const { version, spec } = await specWith(refApi, false);
      if ((await refApi({ path: '/swarm' })).json.Spec.EncryptionConfig.AutoLockManagers) {
        await refApi({ method: 'POST', path: `/swarm/update?version=${version}`, body: spec });
      }
      assert.equal((await refApi({ path: '/swarm' })).json.Spec.EncryptionConfig.AutoLockManagers, false);
    }
    await d.stop();
  });

  test('locked after a restart: every endpoint answers what a locked dockerd answers, only the right key unlocks, and the secrets are intact', async () => {
    let d = await start();
    const created = await d.request({
      method: 'POST',
      path: '/secrets/create',
      body: { Name: 'locked-one', Data: Buffer.from('v1').toString('base64'), Labels: { a: 'b' } },
    });
    assert.equal(created.status, 201);
    const { version, spec } = await specWith(side(d.host, ''), true);
    assert.equal((await d.request({ method: 'POST', path: `/swarm/update?version=${version}`, body: spec })).status, 200);
    const key = (await d.request({ path: '/swarm/unlockkey' })).json.UnlockKey as string;
    const list = (await d.request({ path: '/secrets' })).json;
    const keyring = readFileSync(join(d.dataRoot, 'keyring.json'), 'utf8');
    assert.ok(JSON.parse(keyring).locked && !('keys' in JSON.parse(keyring)), 'the KEKs are stored encrypted');
    await d.kill9();

    d = await start(d.dataRoot);
    const info = (await d.request({ path: '/v1.44/info' })).json;
    assert.deepEqual(info.Swarm, { NodeID: '', NodeAddr: '127.0.0.1', LocalNodeState: 'locked', ControlAvailable: false, Error: LOCKED, RemoteManagers: null });
    assert.equal((await d.request({ path: '/_ping' })).headers.swarm, 'locked');
    const locked: [RawRequest, number, string][] = [
      [{ path: '/swarm' }, 503, LOCKED],
      [{ path: '/swarm/unlockkey' }, 503, LOCKED],
      [{ path: '/secrets' }, 503, LOCKED],
      [{ path: '/secrets/locked-one' }, 503, LOCKED],
      [{ path: '/nodes' }, 503, LOCKED],
      [{ method: 'POST', path: '/secrets/create', body: { Name: 'x', Data: 'eA==' } }, 503, LOCKED],
      [{ method: 'DELETE', path: '/secrets/locked-one' }, 503, LOCKED],
      [{ method: 'POST', path: `/swarm/update?version=${version}`, body: {} }, 503, LOCKED],
      [
        { method: 'POST', path: '/swarm/init', body: {} },
        503,
        'This node is already part of a swarm. Use "docker swarm leave" to leave this swarm and join another one.',
      ],
      [{ method: 'POST', path: '/swarm/leave' }, 503, 'Swarm is encrypted and locked. Please unlock it first or use `--force` to ignore this message.'],
      [{ method: 'POST', path: '/swarm/unlock', body: { UnlockKey: 'bad' } }, 400, 'invalid key string'],
      [{ method: 'POST', path: '/swarm/unlock', body: { UnlockKey: '' } }, 400, 'invalid key string'],
      [{ method: 'POST', path: '/swarm/unlock', body: {} }, 400, 'invalid key string'],
      [{ method: 'POST', path: '/swarm/unlock', body: { UnlockKey: `${key}==` } }, 400, 'invalid key string'],
      [{ method: 'POST', path: '/swarm/unlock', body: { UnlockKey: 'SWMKEY-1-' } }, 401, 'swarm could not be unlocked: invalid key provided'],
      [
        { method: 'POST', path: '/swarm/unlock', body: { UnlockKey: 'SWMKEY-1-hJU2/js2LzPjZJtbecPFZSifJ07JR/+TUq2LME49Wlw' } },
        401,
        'swarm could not be unlocked: invalid key provided',
      ],
    ];
    for (const [req, status, message] of locked) {
      const res = await d.request({ ...req, path: `/v1.44${req.path}` });
      assert.equal(res.status, status, `${req.method ?? 'GET'} ${req.path}: ${res.text}`);
      assert.deepEqual(res.json, { message }, `${req.method ?? 'GET'} ${req.path}`);
    }
    const unlocked = await d.request({ method: 'POST', path: '/swarm/unlock', body: { UnlockKey: key } });
    assert.equal(unlocked.status, 200);
    assert.equal(unlocked.text, '');
    assert.deepEqual((await d.request({ path: '/secrets' })).json, list);
    assert.equal((await d.request({ path: '/info' })).json.Swarm.LocalNodeState, 'active');
    assert.equal((await d.request({ path: '/swarm/unlockkey' })).json.UnlockKey, key);
    const s = (await d.request({ path: '/secrets/locked-one' })).json;
    const same = await d.request({
      method: 'POST',
      path: `/secrets/locked-one/update?version=${s.Version.Index}`,
      body: { Name: 'locked-one', Labels: {}, Data: Buffer.from('v1').toString('base64') },
    });
    assert.equal(same.status, 200, 'the value opens: an update with the same Data compares equal');

    // Off again: the key file is back in the clear, 0600, and a restart is not locked.
    const off = await specWith(side(d.host, ''), false);
    assert.equal((await d.request({ method: 'POST', path: `/swarm/update?version=${off.version}`, body: off.spec })).status, 200);
    assert.equal(statSync(join(d.dataRoot, 'keyring.json')).mode & 0o777, 0o600);
    assert.ok('keys' in JSON.parse(readFileSync(join(d.dataRoot, 'keyring.json'), 'utf8')));
    await d.stop();
    d = await start(d.dataRoot);
    assert.equal((await d.request({ path: '/secrets' })).status, 200);
    await d.stop();
  });

  test('a locked node leaves with --force, and a new swarm starts unlocked', async () => {
    let d = await start(undefined, ['--no-swarm-init']);
    assert.equal((await d.request({ method: 'POST', path: '/swarm/init', body: { AutoLockManagers: true } })).status, 200);
    assert.match((await d.request({ path: '/swarm/unlockkey' })).json.UnlockKey, KEY);
    await d.stop();
    d = await start(d.dataRoot, ['--no-swarm-init']);
    assert.equal((await d.request({ path: '/info' })).json.Swarm.LocalNodeState, 'locked');
    assert.equal((await d.request({ method: 'POST', path: '/swarm/leave?force=1' })).status, 200);
    assert.equal((await d.request({ method: 'POST', path: '/swarm/init', body: {} })).status, 200);
    assert.deepEqual((await d.request({ path: '/swarm/unlockkey' })).json, { UnlockKey: '' });
    assert.equal((await d.request({ method: 'POST', path: '/secrets/create', body: { Name: 'after', Data: 'eA==' } })).status, 201);
    await d.stop();
  });

  test('the docker CLI: swarm init --autolock, unlock-key [--rotate], update --autolock, unlock with a wrong and the right key', {
    skip: cliMissing,
  }, async () => {
    let d = await start(undefined, ['--no-swarm-init']);
    const init = docker(d.host, ['swarm', 'init', '--autolock']);
    assert.equal(init.status, 0, init.stderr);
    assert.match(
      init.stdout,
      /To unlock a swarm manager after it restarts, run the `docker swarm unlock`\ncommand and provide the following key:\n\n {4}SWMKEY-1-/,
    );
    const first = docker(d.host, ['swarm', 'unlock-key', '-q']).stdout.trim();
    assert.match(first, KEY);
    const rotated = docker(d.host, ['swarm', 'unlock-key', '--rotate', '-q']);
    assert.equal(rotated.status, 0, rotated.stderr);
    const key = rotated.stdout.trim();
    assert.match(key, KEY);
    assert.notEqual(key, first);
    assert.equal(docker(d.host, ['secret', 'create', 'cli-locked', '-'], { input: 'value' }).status, 0);
    await d.kill9();

    d = await start(d.dataRoot, ['--no-swarm-init']);
    const ls = docker(d.host, ['secret', 'ls']);
    assert.equal(ls.status, 1);
    assert.match(ls.stderr, /Swarm is encrypted and needs to be unlocked before it can be used/);
    const wrong = docker(d.host, ['swarm', 'unlock'], { input: `${first}\n` });
    assert.equal(wrong.status, 1);
    assert.match(wrong.stderr, /Error response from daemon: swarm could not be unlocked: invalid key provided/);
    const malformed = docker(d.host, ['swarm', 'unlock'], { input: 'bad\n' });
    assert.match(malformed.stderr, /Error response from daemon: invalid key string/);
    const right = docker(d.host, ['swarm', 'unlock'], { input: `${key}\n` });
    assert.equal(right.status, 0, right.stderr);
    assert.match(docker(d.host, ['secret', 'ls', '--format', '{{.Name}}']).stdout, /cli-locked/);
    const notLocked = docker(d.host, ['swarm', 'unlock'], { input: `${key}\n` });
    assert.match(notLocked.stderr, /swarm is not locked/);

    assert.equal(docker(d.host, ['swarm', 'update', '--autolock=false']).status, 0);
    const none = docker(d.host, ['swarm', 'unlock-key']);
    assert.equal(none.status, 1);
    assert.match(none.stderr, /no unlock key is set/);
    assert.match(docker(d.host, ['swarm', 'unlock-key', '--rotate']).stderr, /cannot rotate because autolock is not turned on/);
    const on = docker(d.host, ['swarm', 'update', '--autolock=true']);
    assert.equal(on.status, 0, on.stderr);
    assert.match(on.stdout, /SWMKEY-1-/);
    await d.stop();
  });

  test('autolock is refused where one daemon cannot hold the key alone (a key provider module)', async () => {
    const d = await start(undefined, [
      '--no-swarm-init',
      '--kek-provider',
      'drivers/examples/kek-command.ts',
      '--driver-opt',
      `kek-command.command=["/bin/sh","-c","echo '{\\"current\\":\\"a\\",\\"keys\\":{\\"a\\":\\"${Buffer.alloc(32, 1).toString('base64')}\\"}}'"]`,
    ]);
    const res = await d.request({ method: 'POST', path: '/swarm/init', body: { AutoLockManagers: true } });
    assert.equal(res.status, 400);
    assert.match(res.json.message, /autolock protects the built-in key file/);
    await d.stop();
  });
});
