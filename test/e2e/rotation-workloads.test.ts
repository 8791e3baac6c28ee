/**
 * Workloads follow rotations (issue 13): a consumer token, `secretd get` and `materialize`, the
 * secret-provider plugin and a mounted secretd volume all serve a secret's current version after
 * `secretd secret rotate` and `rollback`, and a pin (`?version=N`, `--version N`, the label
 * `com.secretd.version`, the volume option `version=N`) serves exactly that version or refuses,
 * naming it. The volume part mounts real tmpfs (root), spoken to as dockerd speaks to the plugin
 * socket; the same with a real dockerd and Swarm is in plugin-docker.test.ts. Over a shared etcd,
 * a rotation made through another daemon reaches this daemon's volumes by the periodic check.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ok, secretd } from '../helpers/cli.ts';
import { startDaemon, type Daemon } from '../helpers/daemon.ts';
import { request, type RawResponse } from '../helpers/http.ts';
import { until } from '../helpers/private-dockerd.ts';
import { etcdMissing, startEtcd, type EtcdCluster } from '../helpers/etcd.ts';
import { missing } from '../helpers/tools.ts';

const scratch = mkdtempSync(join(tmpdir(), 'secretd-rotation-workloads-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
const u = randomBytes(4).toString('hex');
const notRoot = process.getuid?.() === 0 ? false : missing("mounting a volume's tmpfs needs root");

interface AuditLine {
  action: string;
  secret: { id?: string; name?: string; ref?: string };
  volume?: string;
  version?: number;
  result: string;
}

describe('rotation reaches every delivery path of one daemon', () => {
  let daemon: Daemon;
  let token: string;
  const socket = join(scratch, `rot-${u}.sock`);
  const cli = (args: string[], input?: string) => secretd(daemon.host, args, input === undefined ? {} : { input });
  const run = (args: string[], input?: string) => ok(cli(args, input), `secretd ${args.join(' ')}\n${daemon.logs.slice(-2000)}`);
  const audit = (): AuditLine[] =>
    readFileSync(join(daemon.dataRoot, 'audit.log'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as AuditLine);
  const value = (name: string, query = '') =>
    daemon.request({ method: 'POST', path: `/_secretd/v1/secrets/${name}/value${query}`, headers: { Authorization: `Bearer ${token}` }, body: {} });
  const plugin = (method: string, body: unknown): Promise<RawResponse> => request(`unix://${socket}`, { method: 'POST', path: `/${method}`, body });

  before(async () => {
    daemon = await startDaemon({ args: ['--delivery', '--keep-versions', '3', '--plugin-listen', socket, '--plugin-allow', 'rot.*'] });
    token = run(['token', 'create', '--allow', 'rot.*']).trim();
  });
  after(async () => {
    // A failed test must leave no tmpfs behind: the daemon's own Unmounts did not run.
    const root = daemon ? join(daemon.dataRoot, 'volumes') : '';
    await daemon?.stop();
    for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
      const dir = line.split(' ')[4] ?? '';
      if (root && dir.startsWith(`${root}/`)) spawnSync('umount', [dir]);
    }
    await daemon?.dispose();
  });

  test('a token, secretd get and materialize serve the current version; ?version and --version pin one; one not kept is 404 naming it', async () => {
    const name = `rot.tok${u}`;
    run(['secret', 'create', name, '-'], 'first');
    assert.equal(run(['secret', 'rotate', name, '-'], 'second'), '2\n');
    const current = await value(name);
    assert.deepEqual([current.status, current.text, current.headers['x-secretd-version']], [200, 'second', '2']);
    const env = { SECRETD_TOKEN: token };
    assert.equal(ok(secretd(daemon.host, ['get', name], { env }), 'get'), 'second');
    assert.equal(ok(secretd(daemon.host, ['get', '--version', '1', name], { env }), 'get --version 1'), 'first');
    const pinned = await value(name, '?version=1');
    assert.deepEqual([pinned.status, pinned.text, pinned.headers['x-secretd-version']], [200, 'first', '1']);

    const dir = join(scratch, 'materialized');
    mkdirSync(dir);
    ok(secretd(daemon.host, ['materialize', '--target', dir, `${name}:now`], { env }), 'materialize');
    ok(secretd(daemon.host, ['materialize', '--target', dir, '--version', '1', `${name}:then`], { env }), 'materialize --version 1');
    assert.deepEqual([readFileSync(join(dir, 'now'), 'utf8'), readFileSync(join(dir, 'then'), 'utf8')], ['second', 'first']);
    const two = secretd(daemon.host, ['materialize', '--target', dir, '--version', '1', name, `${name}:x`], { env });
    assert.equal(two.status, 2);
    assert.match(two.stderr, /--version pins one secret/);
    assert.deepEqual(readdirSync(dir).sort(), ['now', 'then'], 'a refused materialize writes nothing');

    // --keep-versions 3: after three more rotations, version 1 is gone and a pin on it is refused.
    for (const v of ['third', 'fourth', 'fifth']) run(['secret', 'rotate', name, '-'], v);
    const gone = await value(name, '?version=1');
    assert.equal(gone.status, 404);
    assert.deepEqual(gone.json, { message: `secret ${name} has no version 1` });
    const got = secretd(daemon.host, ['get', '--version', '1', name], { env });
    assert.deepEqual([got.status, got.stdout], [1, '']);
    assert.match(got.stderr, new RegExp(`secret ${name.replaceAll('.', '\\.')} has no version 1`));
    for (const bad of ['0', 'abc', '-1', '1.5']) {
      const r = await value(name, `?version=${bad}`);
      assert.equal(r.status, 400, bad);
      assert.match(r.json.message, /a version is a whole number from 1/);
    }
    assert.equal(cli(['get', '--version', 'x', name]).status, 2, 'a bad --version is a usage error');

    run(['secret', 'rollback', name, '3']);
    assert.equal((await value(name)).text, 'third', 'a rollback is served at once');
    const lines = audit().filter((l) => l.action === 'secret.deliver' && l.secret.name === name && l.result === 'ok');
    assert.deepEqual(
      lines.map((l) => l.version),
      [2, 2, 1, 1, 2, 1, 3],
      'each delivery names the version it handed out',
    );
    assert.ok(audit().some((l) => l.action === 'secret.deliver' && l.secret.name === name && l.result === 'not_found'));
  });

  test('GetSecret serves the current version; com.secretd.version pins one; a pin not kept and a bad label are Err naming them', async () => {
    const name = `rot.gs${u}`;
    run(['secret', 'create', name, '-'], 'gs-1');
    const get = async (labels?: Record<string, string>) =>
      (await plugin('SecretProvider.GetSecret', { SecretName: name, ...(labels ? { SecretLabels: labels } : {}) })).json;
    const decoded = (a: { Value?: string; Err?: string }) => (a.Value ? Buffer.from(a.Value, 'base64').toString() : `Err: ${a.Err}`);
    assert.equal(decoded(await get()), 'gs-1');
    run(['secret', 'rotate', name, '-'], 'gs-2');
    assert.equal(decoded(await get()), 'gs-2', 'the next task gets the new value');
    assert.equal(decoded(await get({ 'com.secretd.version': '1' })), 'gs-1');
    assert.equal(decoded(await get({ 'com.secretd.version': '7' })), `Err: secret ${name} has no version 7`);
    assert.match(decoded(await get({ 'com.secretd.version': 'latest' })), /^Err: label com\.secretd\.version="latest": a version is a whole number from 1/);
    // The label naming another secretd secret and the pin work together.
    assert.equal(
      decoded(
        await plugin('SecretProvider.GetSecret', { SecretName: 'swarm-name', SecretLabels: { 'com.secretd.secret': name, 'com.secretd.version': '1' } }).then(
          (r) => r.json,
        ),
      ),
      'gs-1',
    );
  });

  test('a mounted volume shows each rotation and rollback within seconds, replaced whole under a reader in a loop; a pinned volume never changes', {
    skip: notRoot,
  }, async (t) => {
    const name = `rot.vol${u}`;
    // Large values: a file written in place would be caught half-written by the reader.
    const versions = Array.from({ length: 5 }, () => randomBytes(200_000).toString('base64'));
    const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
    const known = new Set(versions.map(sha));
    run(['secret', 'create', name, '-'], versions[0]);
    const v = async (method: string, body: object) => {
      const r = await plugin(`VolumeDriver.${method}`, body);
      assert.equal(r.json.Err, '', `${method}: ${r.text}\n${daemon.logs.slice(-2000)}`);
      return r.json;
    };
    await v('Create', { Name: `fol-${u}`, Opts: { secret: `${name}:value` } });
    await v('Create', { Name: `pin-${u}`, Opts: { secret: `${name}:value`, version: '1' } });
    const dir = (await v('Mount', { Name: `fol-${u}`, ID: 'c1' })).Mountpoint as string;
    const pinnedDir = (await v('Mount', { Name: `pin-${u}`, ID: 'c2' })).Mountpoint as string;
    const file = join(dir, 'value');
    assert.equal(readFileSync(file, 'utf8'), versions[0]);

    let reads = 0;
    let torn = 0;
    let reading = true;
    const reader = (async () => {
      while (reading) {
        if (!known.has(sha(readFileSync(file)))) torn++;
        reads++;
        await new Promise((r) => setImmediate(r));
      }
    })();
    const shows = async (expected: string, what: string) => {
      const started = Date.now();
      await until(
        () => (readFileSync(file, 'utf8') === expected ? true : undefined),
        10_000,
        () => `${what} in the volume\n${daemon.logs.slice(-2000)}`,
      );
      return Date.now() - started;
    };
    const inodes = new Set([statSync(file).ino]);
    const delays: number[] = [];
    try {
      for (let i = 1; i < versions.length; i++) {
        const r = await daemon.request({
          method: 'POST',
          path: `/_secretd/v1/secrets/${name}/versions`,
          body: { Data: Buffer.from(versions[i]!).toString('base64') },
        });
        assert.equal(r.status, 201, r.text);
        delays.push(await shows(versions[i]!, `version ${i + 1}`));
        inodes.add(statSync(file).ino);
      }
      const back = await daemon.request({ method: 'POST', path: `/_secretd/v1/secrets/${name}/versions/3/rollback` });
      assert.equal(back.status, 200, back.text);
      delays.push(await shows(versions[2]!, 'the rollback to version 3'));
    } finally {
      reading = false;
      await reader;
    }
    t.diagnostic(`${reads} reads, ${torn} torn; rotation to volume: ${delays.join(', ')} ms`);
    assert.equal(torn, 0, `${torn} of ${reads} reads saw something other than a whole version`);
    assert.ok(reads > 50, `the reader ran (${reads} reads)`);
    assert.ok(Math.max(...delays) < 5000, `every change reached the volume within seconds: ${delays.join(', ')} ms`);
    assert.equal(inodes.size, versions.length, 'each new value is a new file renamed into place');
    assert.equal(readFileSync(join(pinnedDir, 'value'), 'utf8'), versions[0], 'the pinned volume still holds version 1');
    // The file is renamed into place just before the tmpfs is made read-only again.
    const superOptions = () =>
      readFileSync('/proc/self/mountinfo', 'utf8')
        .split('\n')
        .find((l) => l.split(' ')[4] === dir)
        ?.split(' - ')[1] ?? '';
    await until(
      () => (/^tmpfs secretd ro,/.test(superOptions()) ? true : undefined),
      5000,
      () => `read-only again after the refreshes: ${superOptions()}`,
    );
    assert.deepEqual(readdirSync(dir), ['value'], 'no temporary file is left');

    // The state file records a refresh once its tmpfs is read-only again, a moment after the
    // test can see it so: wait for the rollback's version there.
    const stateFile = join(daemon.dataRoot, 'plugin-volumes.json');
    type Saved = { volumes: { name: string; written?: Record<string, { version?: number }> }[] };
    const writtenVersion = (text: string, volume: string) => (JSON.parse(text) as Saved).volumes.find((r) => r.name === volume)?.written?.value?.version;
    const state = await until(
      () => {
        const text = readFileSync(stateFile, 'utf8');
        return writtenVersion(text, `fol-${u}`) === 3 ? text : undefined;
      },
      5000,
      () => `the state file to record version 3 for fol-${u}: ${readFileSync(stateFile, 'utf8')}`,
    );
    for (const value of versions) assert.ok(!state.includes(value.slice(0, 40)), 'no value in the state file');
    assert.equal(writtenVersion(state, `pin-${u}`), 1);
    const refreshes = audit()
      .filter((l) => l.volume === `fol-${u}` && l.result === 'ok')
      .map((l) => l.version);
    assert.deepEqual(refreshes, [1, 2, 3, 4, 5, 3], 'each write into the volume is one audited delivery, naming its version');
    assert.deepEqual(
      audit()
        .filter((l) => l.volume === `pin-${u}`)
        .map((l) => l.version),
      [1],
    );

    await v('Unmount', { Name: `fol-${u}`, ID: 'c1' });
    await v('Unmount', { Name: `pin-${u}`, ID: 'c2' });
    await v('Remove', { Name: `fol-${u}` });
    await v('Remove', { Name: `pin-${u}` });
  });

  test('a volume pinned to a version that is not kept refuses its Mount, naming secret and version', { skip: notRoot }, async () => {
    const name = `rot.unkept${u}`;
    run(['secret', 'create', name, '-'], 'only one');
    assert.equal((await plugin('VolumeDriver.Create', { Name: `unk-${u}`, Opts: { secret: name, version: '2' } })).json.Err, '');
    const r = await plugin('VolumeDriver.Mount', { Name: `unk-${u}`, ID: 'c' });
    assert.equal(r.json.Err, `secret ${name} has no version 2`);
    assert.equal((await plugin('VolumeDriver.Remove', { Name: `unk-${u}` })).json.Err, '');
  });
});

describe("a rotation through another daemon on a shared etcd reaches this daemon's volume", { skip: notRoot || etcdMissing() }, () => {
  let etcd: EtcdCluster;
  let here: Daemon;
  let there: Daemon;
  const socket = join(scratch, `etcd-${u}.sock`);
  const plugin = (method: string, body: unknown): Promise<RawResponse> => request(`unix://${socket}`, { method: 'POST', path: `/${method}`, body });

  before(async () => {
    etcd = await startEtcd(1);
    const args = ['--store', etcd.storeUrl(`rw${u}`), '--keyring', join(scratch, 'etcd-keyring.json')];
    here = await startDaemon({ args: [...args, '--plugin-listen', socket, '--plugin-allow', 'rot.*'], timeoutMs: 60_000 });
    there = await startDaemon({ args, timeoutMs: 60_000 });
  });
  after(async () => {
    const root = here ? join(here.dataRoot, 'volumes') : '';
    await Promise.all([here?.stop(), there?.stop()]);
    for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
      const dir = line.split(' ')[4] ?? '';
      if (root && dir.startsWith(`${root}/`)) spawnSync('umount', [dir]);
    }
    await here?.dispose();
    await there?.dispose();
    await etcd?.dispose();
  });

  test('the other daemon rotates, and within seconds the mounted file here holds the new value; GetSecret here serves it too', async (t) => {
    const name = `rot.shared${u}`;
    const created = await there.request({ method: 'POST', path: '/secrets/create', body: { Name: name, Data: Buffer.from('made there').toString('base64') } });
    assert.equal(created.status, 201, created.text);
    const v = async (method: string, body: object) => {
      const r = await plugin(`VolumeDriver.${method}`, body);
      assert.equal(r.json.Err, '', `${method}: ${r.text}\n${here.logs.slice(-2000)}`);
      return r.json;
    };
    await v('Create', { Name: `sh-${u}`, Opts: { secret: `${name}:v` } });
    const dir = (await v('Mount', { Name: `sh-${u}`, ID: 'c1' })).Mountpoint as string;
    // The secret was created through the other daemon: this one reads it from etcd.
    await until(
      () => (readFileSync(join(dir, 'v'), 'utf8') === 'made there' ? true : undefined),
      10_000,
      () => 'the first value',
    );

    const rotated = await there.request({
      method: 'POST',
      path: `/_secretd/v1/secrets/${name}/versions`,
      body: { Data: Buffer.from('rotated there').toString('base64') },
    });
    assert.equal(rotated.status, 201, rotated.text);
    const started = Date.now();
    await until(
      () => (readFileSync(join(dir, 'v'), 'utf8') === 'rotated there' ? true : undefined),
      10_000,
      () => `the rotation in the volume\n${here.logs.slice(-2000)}`,
    );
    const delay = Date.now() - started;
    t.diagnostic(`a rotation through the other daemon reached the volume in ${delay} ms`);
    assert.ok(delay < 6000, `within seconds (the check runs every 2 s): ${delay} ms`);
    const got = (await plugin('SecretProvider.GetSecret', { SecretName: name })).json as { Value: string };
    assert.equal(Buffer.from(got.Value, 'base64').toString(), 'rotated there');

    await v('Unmount', { Name: `sh-${u}`, ID: 'c1' });
    await v('Remove', { Name: `sh-${u}` });
  });
});
