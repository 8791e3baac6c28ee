/**
 * A real secret-provider plugin process (test/fixtures/plugins/secret-provider.mjs) on
 * /run/docker/plugins, used through the docker CLI: first by the reference dockerd, to record what
 * dockerd sends it, then by secretd started as a user starts it, which must behave the same.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startDaemon, type Daemon } from '../helpers/daemon.ts';
import { dockerCliMissing, fileMissing, missing, referenceDockerd } from '../helpers/tools.ts';
import { startPlugin, type FixturePlugin } from '../fixtures/plugins/start.ts';

const PLUGIN_DIR = '/run/docker/plugins';
const ACCEPT = 'application/vnd.docker.plugins.v1.2+json';
const START_SCRIPT = '/work/shared/conformance/start-reference-dockerd.sh';
const scratch = mkdtempSync(join(tmpdir(), 'secretd-plugin-e2e-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

let seq = 0;
const unique = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}-${++seq}`;

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function docker(host: string, args: string[], timeout = 60_000): Run {
  const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_HOST: host, DOCKER_CONFIG: join(scratch, 'config') };
  for (const k of ['DOCKER_CONTEXT', 'DOCKER_API_VERSION', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH']) delete env[k];
  const r = spawnSync('docker', args, { env, encoding: 'utf8', timeout });
  assert.equal(r.error, undefined, `docker ${args.join(' ')}: ${String(r.error)}`);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function ok(host: string, args: string[], context = ''): string {
  const r = docker(host, args);
  assert.equal(r.status, 0, `docker ${args.join(' ')} exited ${r.status}\nstdout: ${r.stdout}\nstderr: ${r.stderr}${context}`);
  return r.stdout;
}

/** The reference dockerd, started with the shared script when it is not running and we may. */
function reference(): { host: string } | { skip: string } {
  const found = referenceDockerd();
  if ('host' in found || process.env.REF_DOCKER_HOST) return found;
  if (process.getuid?.() !== 0 || !existsSync(START_SCRIPT)) return found;
  const r = spawnSync('bash', [START_SCRIPT], { encoding: 'utf8', timeout: 180_000 });
  return r.status === 0 ? referenceDockerd() : { skip: missing(`${found.skip}; starting it failed: ${r.stderr.slice(-500)}`) as string };
}

const cliMissing = dockerCliMissing();
const pluginDirUnusable = (() => {
  try {
    mkdirSync(PLUGIN_DIR, { recursive: true });
    return false;
  } catch (e) {
    return `cannot create ${PLUGIN_DIR} (${(e as Error).message}); run as root`;
  }
})();
const ref = cliMissing || pluginDirUnusable ? undefined : reference();
const refSkip = cliMissing || pluginDirUnusable || (ref && 'skip' in ref ? ref.skip : false);
const refHost = ref && 'host' in ref ? ref.host : '';

const plugins: FixturePlugin[] = [];
after(async () => {
  for (const p of plugins) await p.stop();
});
async function pluginAt(dir: string, name: string, implements_?: string[]): Promise<FixturePlugin> {
  const p = await startPlugin({ unix: join(dir, `${name}.sock`), log: join(scratch, `${name}.jsonl`), ...(implements_ && { implements: implements_ }) });
  plugins.push(p);
  return p;
}

/** The messages both daemons give, filled in by the dockerd half when it runs. */
const dockerdSaid: { notFound?: string; notImplemented?: string } = {};

describe('a secret-provider plugin used by the reference dockerd', { skip: refSkip }, () => {
  const name = unique('fixture');
  let plugin: FixturePlugin;
  const secrets: string[] = [];
  before(async () => {
    plugin = await pluginAt(PLUGIN_DIR, name);
  });
  after(() => {
    for (const s of secrets) docker(refHost, ['secret', 'rm', s]);
  });

  test('docker secret create --driver NAME succeeds; dockerd activates the plugin once, with its Accept header', () => {
    for (const n of [unique('s'), unique('s')]) {
      assert.match(ok(refHost, ['secret', 'create', '--driver', name, n]), /^[a-z0-9]{25}\n$/);
      secrets.push(n);
    }
    const inspected = JSON.parse(ok(refHost, ['secret', 'inspect', secrets[0]!])) as { Spec: { Driver?: { Name: string } } }[];
    assert.deepEqual(inspected[0]!.Spec.Driver, { Name: name });
    const reqs = plugin.requests();
    assert.deepEqual(
      reqs.map((r) => r.path),
      ['/Plugin.Activate'],
      'one Activate for two creates, no GetSecret at create',
    );
    const act = reqs[0]!;
    assert.equal(act.method, 'POST');
    assert.equal(act.headers.accept, ACCEPT);
    assert.equal(act.headers['content-length'], '0');
    assert.equal(act.headers['content-type'], undefined);
    assert.equal(act.body, '');
    // 20.10 sends an empty Host over unix sockets; v25 sends plugin.moby.localhost (secretd does).
    assert.ok(['', 'plugin.moby.localhost'].includes(act.headers.host ?? ''), `Host ${act.headers.host}`);
  });

  test('a plugin without secretprovider in Implements is refused', async () => {
    const other = unique('volumes');
    await pluginAt(PLUGIN_DIR, other, ['VolumeDriver']);
    const r = docker(refHost, ['secret', 'create', '--driver', other, unique('s')]);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /^Error response from daemon: rpc error: code = Unknown desc = legacy plugin: Plugin does not implement the requested driver/);
    dockerdSaid.notImplemented = r.stderr.trim().replaceAll(other, 'NAME');
  });

  test('a name with no plugin fails with plugin "NAME" not found (after dockerd\'s retries)', () => {
    const missing = unique('nothing');
    const r = docker(refHost, ['secret', 'create', '--driver', missing, unique('s')]);
    assert.notEqual(r.status, 0);
    assert.equal(r.stderr.trim(), `Error response from daemon: rpc error: code = Unknown desc = plugin "${missing}" not found`);
    dockerdSaid.notFound = r.stderr.trim().replaceAll(missing, 'NAME');
  });

  test('a service using the secret makes dockerd call GetSecret with the task fields', async (t) => {
    const image = busyboxImage();
    if ('skip' in image) return t.skip(image.skip);
    const secret = unique('svcsecret');
    const service = unique('svc');
    ok(refHost, ['secret', 'create', '--driver', name, '--label', 'fixture.do-not-reuse=true', secret]);
    secrets.push(secret);
    try {
      ok(refHost, [
        'service',
        'create',
        '--detach',
        '--name',
        service,
        '--restart-condition',
        'none',
        '--secret',
        secret,
        image.tag,
        '/bin/sh',
        '-c',
        'sleep 30',
      ]);
      let get: ReturnType<ReturnType<typeof plugin.requests>['find']>;
      for (let i = 0; i < 100 && !get; i++) {
        get = plugin.requests().find((r) => r.path === '/SecretProvider.GetSecret');
        if (!get) await new Promise((r) => setTimeout(r, 300));
      }
      if (!get)
        return t.skip(
          `dockerd did not dispatch the task in 30 s (containers may not run here): ${docker(refHost, ['service', 'ps', '--no-trunc', service]).stdout}`,
        );
      assert.equal(get.headers.accept, ACCEPT);
      assert.equal(get.headers['content-type'], undefined);
      assert.ok(get.body.endsWith('}\n'));
      const body = JSON.parse(get.body) as Record<string, unknown>;
      const serviceId = ok(refHost, ['service', 'inspect', '--format', '{{.ID}}', service]).trim();
      assert.deepEqual(Object.keys(body), [
        'SecretName',
        'SecretLabels',
        'ServiceID',
        'ServiceName',
        'TaskID',
        'TaskName',
        'TaskImage',
        'NodeID',
        'ServiceEndpointSpec',
      ]);
      assert.equal(body.SecretName, secret);
      assert.deepEqual(body.SecretLabels, { 'fixture.do-not-reuse': 'true' });
      assert.equal(body.ServiceID, serviceId);
      assert.equal(body.ServiceName, service);
      assert.match(String(body.TaskName), new RegExp(`^${service}\\.1\\.${String(body.TaskID)}$`));
      assert.equal(body.TaskImage, image.tag);
      assert.match(String(body.NodeID), /^[a-z0-9]{25}$/);
      assert.deepEqual(body.ServiceEndpointSpec, {});
      assert.ok(!('Options' in body));
    } finally {
      docker(refHost, ['service', 'rm', service]);
      // The secret stays referenced until the task is gone.
      for (let i = 0; i < 50 && docker(refHost, ['secret', 'rm', secret]).status !== 0; i++) await new Promise((r) => setTimeout(r, 300));
    }
  });
});

/** A one-binary image from Debian's busybox-static, imported into the reference dockerd once. */
function busyboxImage(): { tag: string } | { skip: string } {
  const tag = 'secretd-busybox:test';
  if (docker(refHost, ['image', 'inspect', tag]).status === 0) return { tag };
  const noBusybox = fileMissing('/bin/busybox', 'apt-get install busybox-static');
  if (noBusybox) return { skip: noBusybox };
  const rootfs = join(scratch, 'rootfs');
  mkdirSync(join(rootfs, 'bin'), { recursive: true });
  copyFileSync('/bin/busybox', join(rootfs, 'bin', 'busybox'));
  for (const cmd of ['sh', 'sleep', 'cat']) symlinkSync('busybox', join(rootfs, 'bin', cmd));
  const tar = join(scratch, 'rootfs.tar');
  const t = spawnSync('tar', ['-C', rootfs, '-cf', tar, '.']);
  if (t.status !== 0) return { skip: `tar failed: ${t.stderr}` };
  const r = docker(refHost, ['import', tar, tag]);
  return r.status === 0 ? { tag } : { skip: `docker import failed: ${r.stderr}` };
}

describe('the same plugin used by secretd', { skip: cliMissing || pluginDirUnusable }, () => {
  let daemon: Daemon;
  const extraDir = join(scratch, 'plugin-dir');
  before(async () => {
    mkdirSync(extraDir, { recursive: true });
    daemon = await startDaemon({ args: ['--plugin-dir', extraDir] });
    if (docker(daemon.host, ['info', '--format', '{{.Swarm.LocalNodeState}}']).stdout.trim() !== 'active') ok(daemon.host, ['swarm', 'init']);
  });
  after(async () => {
    await daemon?.dispose();
  });
  const logs = () => `\n--- secretd logs ---\n${daemon.logs.slice(-4000)}`;

  test('docker secret create --driver NAME succeeds, inspect shows the Driver, and the plugin is activated once', async () => {
    const name = unique('fixture');
    const plugin = await pluginAt(PLUGIN_DIR, name);
    const [a, b] = [unique('s'), unique('s')];
    assert.match(ok(daemon.host, ['secret', 'create', '--driver', name, a], logs()), /^[a-z0-9]{25}\n$/);
    ok(daemon.host, ['secret', 'create', '--driver', name, b], logs());
    const inspected = JSON.parse(ok(daemon.host, ['secret', 'inspect', a])) as { Spec: { Name: string; Driver?: { Name: string } } }[];
    assert.equal(inspected[0]!.Spec.Name, a);
    assert.deepEqual(inspected[0]!.Spec.Driver, { Name: name });
    const reqs = plugin.requests();
    assert.deepEqual(
      reqs.map((r) => r.path),
      ['/Plugin.Activate'],
    );
    assert.equal(reqs[0]!.headers.accept, ACCEPT);
    assert.equal(reqs[0]!.headers.host, 'plugin.moby.localhost');
    assert.equal(reqs[0]!.headers['content-length'], '0');
  });

  test('a plugin in a --plugin-dir folder is found', async () => {
    const name = unique('extra');
    await pluginAt(extraDir, name);
    ok(daemon.host, ['secret', 'create', '--driver', name, unique('s')], logs());
  });

  test("a name with no plugin fails at once, with dockerd's message", () => {
    const missing = unique('nothing');
    const t0 = Date.now();
    const r = docker(daemon.host, ['secret', 'create', '--driver', missing, unique('s')]);
    assert.notEqual(r.status, 0);
    const expected = dockerdSaid.notFound ?? 'Error response from daemon: rpc error: code = Unknown desc = plugin "NAME" not found';
    assert.equal(r.stderr.trim(), expected.replaceAll('NAME', missing));
    assert.ok(Date.now() - t0 < 10_000, 'no retry storm');
  });

  test("a plugin without secretprovider is refused with dockerd v25's wording", async () => {
    const other = unique('volumes');
    await pluginAt(PLUGIN_DIR, other, ['VolumeDriver']);
    const r = docker(daemon.host, ['secret', 'create', '--driver', other, unique('s')]);
    assert.notEqual(r.status, 0);
    const v25 =
      'Error response from daemon: rpc error: code = Unknown desc = legacy plugin: Plugin does not implement the requested driver: ' +
      `plugin="${other}", requested implementation="secretprovider"`;
    assert.equal(r.stderr.trim(), v25);
    if (dockerdSaid.notImplemented) assert.ok(v25.startsWith(dockerdSaid.notImplemented.replaceAll('NAME', other)), 'v25 extends the 20.10 text');
  });
});
