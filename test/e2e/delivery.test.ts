/**
 * Drivers, templating and delivery end to end: a daemon started as a user starts it (with
 * --delivery and the built-in drivers configured), secrets created with the real docker CLI,
 * values read back with `secretd token|get|materialize` as an operator and a workload would.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PROJECT_ROOT, startDaemon, type Daemon } from '../helpers/daemon.ts';
import { request } from '../helpers/http.ts';
import { startPlugin, type FixturePlugin } from '../fixtures/plugins/start.ts';
import { PassStore, passMissing } from '../helpers/pass-store.ts';
import { dockerCliMissing } from '../helpers/tools.ts';
import { tokenParts } from '../helpers/tokens.ts';

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

const scratch = mkdtempSync(join(tmpdir(), 'secretd-delivery-'));
const fileRoot = join(scratch, 'files');
const API_KEY = 'ak_e2e_7f3c9a1b';
const PASS_VALUE = 'correct horse battery staple';

let daemon: Daemon;
let pass: PassStore | undefined;
let plugin: FixturePlugin;
const pluginDir = join(scratch, 'plugins');
let admin: string; // a token for app.* and tmpl.*
let narrow: string; // a token for one name only

function run(cmd: string, args: string[], opts: { input?: string | Buffer; env?: NodeJS.ProcessEnv } = {}): Run {
  const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_HOST: daemon.host, DOCKER_CONFIG: join(scratch, 'docker'), ...opts.env };
  delete env.SECRETD_TOKEN;
  const res = spawnSync(cmd, args, { env, input: opts.input, encoding: 'utf8', timeout: 60_000, cwd: PROJECT_ROOT });
  assert.equal(res.error, undefined, `could not run ${cmd}: ${String(res.error)}`);
  return { status: res.status, stdout: res.stdout, stderr: res.stderr };
}

/** `secretd …` as a user runs it from the checkout (`npx secretd …` runs the same file). */
const secretd = (args: string[], opts?: Parameters<typeof run>[2]) => run('node', ['bin/secretd.mjs', ...args], opts);

function ok(r: Run, what: string): string {
  assert.equal(r.status, 0, `${what} exited ${r.status}\nstdout: ${r.stdout}\nstderr: ${r.stderr}\n--- daemon ---\n${daemon.logs.slice(-3000)}`);
  return r.stdout;
}

const docker = (args: string[], input?: string) => run('docker', args, input === undefined ? {} : { input });

/** The raw delivery endpoint, for statuses and headers. */
function deliver(name: string, token: string | undefined, context?: unknown) {
  return daemon.request({
    method: 'POST',
    path: `/_secretd/v1/secrets/${encodeURIComponent(name)}/value`,
    headers: token ? { Authorization: `Bearer ${token}` } : {},
    ...(context === undefined ? {} : { body: context }),
  });
}

const skip = dockerCliMissing();

describe('delivery, drivers and templating through a real daemon', { skip }, () => {
  before(async () => {
    mkdirSync(join(fileRoot, 'nested'), { recursive: true });
    writeFileSync(join(fileRoot, 'app.file'), 'from-a-file\n');
    writeFileSync(join(fileRoot, 'nested', 'deep'), Buffer.from([0, 1, 2, 255]));
    mkdirSync(pluginDir);
    plugin = await startPlugin({ unix: join(pluginDir, 'e2e-vault.sock'), log: join(scratch, 'plugin.jsonl') });
    const args = ['--delivery', '--plugin-dir', pluginDir, '--driver-opt', `file.root=${fileRoot}`, '--driver-opt', 'env.allow=SECRETD_E2E_*'];
    const env: NodeJS.ProcessEnv = { SECRETD_E2E_API_KEY: API_KEY, SECRETD_OTHER: 'not allowed' };
    if (!passMissing()) {
      pass = PassStore.create();
      pass.insert('app/db', `${PASS_VALUE}\n`);
      args.push('--driver-opt', 'exec.command=["pass","show"]', '--driver-opt', 'exec.env=GNUPGHOME,PASSWORD_STORE_DIR');
      Object.assign(env, pass.env);
    }
    daemon = await startDaemon({ args, env });
    admin = ok(secretd(['token', 'create', '--allow', 'app.*', '--allow', 'tmpl.*', '--description', 'e2e']), 'token create').trim();
    narrow = ok(secretd(['token', 'create', '--allow', 'app.plain']), 'token create').trim();
  });

  after(async () => {
    await daemon?.dispose();
    await plugin?.stop();
    pass?.dispose();
    rmSync(scratch, { recursive: true, force: true });
  });

  describe('consumer tokens', () => {
    test('token create prints only the token; token ls shows its scope and never the token or its hash', () => {
      assert.match(admin, /^sdt_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
      const listed = JSON.parse(ok(secretd(['token', 'ls', '--format', 'json']), 'token ls')) as { ID: string; Allow: string[] }[];
      const mine = listed.find((t) => admin.startsWith(`sdt_${t.ID}_`));
      assert.deepEqual(mine?.Allow, ['app.*', 'tmpl.*']);
      const table = ok(secretd(['token', 'ls']), 'token ls');
      assert.match(table, /^ID +CREATED +ALLOW +DESCRIPTION$/m);
      assert.ok(!table.includes(tokenParts(admin).secret) && !JSON.stringify(listed).includes(tokenParts(admin).secret));
    });

    test('a token without patterns, or with a pattern that cannot match a name, is refused', () => {
      const none = secretd(['token', 'create']);
      assert.equal(none.status, 2);
      assert.match(none.stderr, /needs at least one --allow PATTERN/);
      const bad = secretd(['token', 'create', '--allow', '../etc']);
      assert.equal(bad.status, 1);
      assert.match(bad.stderr, /^Error response from daemon: invalid request body: \/Allow\/0 must match pattern/);
    });

    test('no token is 401, a wrong one 401, a name outside the scope exactly as a missing one: 404', async () => {
      ok(docker(['secret', 'create', 'app.plain', '-'], 'plain value'), 'create');
      ok(docker(['secret', 'create', 'outside', '-'], 'outside value'), 'create');
      const none = await deliver('app.plain', undefined);
      assert.equal(none.status, 401);
      assert.equal(none.json.message, 'a consumer token is required: send it as "Authorization: Bearer TOKEN"');
      const forged = await deliver('app.plain', `${admin.slice(0, -4)}${admin.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`);
      assert.equal(forged.status, 401);
      const outOfScope = await deliver('outside', narrow);
      assert.equal(outOfScope.status, 404);
      assert.equal(outOfScope.json.message, 'secret outside not found');
      // Out of scope and absent look the same: a token learns nothing about secrets it may not read.
      const absent = await deliver('outsidf', narrow);
      assert.equal(absent.status, 404);
      assert.equal(absent.json.message, 'secret outsidf not found');
      assert.equal((await deliver('app.missing', admin)).status, 404);
      assert.equal((await deliver('app.plain', narrow)).text, 'plain value');
    });

    test('a revoked token stops working at once', async () => {
      const temp = ok(secretd(['token', 'create', '--allow', 'app.plain']), 'token create').trim();
      assert.equal((await deliver('app.plain', temp)).status, 200);
      ok(secretd(['token', 'rm', tokenParts(temp).id]), 'token rm');
      assert.equal((await deliver('app.plain', temp)).status, 401);
      const again = secretd(['token', 'rm', tokenParts(temp).id]);
      assert.equal(again.status, 1);
      assert.match(again.stderr, /token [0-9a-f]{16} not found/);
    });
  });

  describe('secretd get and materialize', () => {
    test('get prints the stored bytes exactly, binary included', () => {
      const bytes = Buffer.from([0, 10, 13, 255, 254, 0x22, 0x80]);
      const file = join(scratch, 'binary');
      writeFileSync(file, bytes);
      ok(docker(['secret', 'create', 'app.binary', file]), 'create');
      const res = spawnSync('node', ['bin/secretd.mjs', 'get', '--token', admin, 'app.binary'], {
        cwd: PROJECT_ROOT,
        env: { ...process.env, DOCKER_HOST: daemon.host },
        timeout: 60_000,
      });
      assert.equal(res.status, 0, String(res.stderr));
      assert.deepEqual(res.stdout, bytes);
    });

    test('materialize writes each value as a 0400 file under its target name, and nothing when one fails', () => {
      const target = join(scratch, 'run-secrets');
      mkdirSync(target);
      ok(docker(['secret', 'create', 'app.one', '-'], 'one'), 'create');
      ok(docker(['secret', 'create', 'app.two', '-'], 'two'), 'create');
      const failed = secretd(['materialize', '--token', admin, '--target', target, 'app.one', 'outside']);
      assert.equal(failed.status, 1);
      assert.match(failed.stderr, /secret outside not found/);
      assert.deepEqual(readdirSync(target), [], 'a failed fetch writes nothing');
      ok(secretd(['materialize', '--token', admin, '--target', target, 'app.one', 'app.two:two.txt']), 'materialize');
      assert.deepEqual(readdirSync(target).sort(), ['app.one', 'two.txt']);
      assert.equal(readFileSync(join(target, 'app.one'), 'utf8'), 'one');
      assert.equal(readFileSync(join(target, 'two.txt'), 'utf8'), 'two');
      for (const f of readdirSync(target)) assert.equal(statSync(join(target, f)).mode & 0o777, 0o400, f);
      // Re-running replaces the files (rename over a 0400 file) instead of failing.
      ok(secretd(['materialize', '--token', admin, '--target', target, 'app.one']), 'materialize again');
      assert.deepEqual(readdirSync(target).sort(), ['app.one', 'two.txt']);
    });

    test('a token file works like --token, and a target name with a slash is refused', () => {
      const tokenFile = join(scratch, 'token');
      writeFileSync(tokenFile, `${admin}\n`, { mode: 0o600 });
      assert.equal(ok(secretd(['get', '--token-file', tokenFile, 'app.one']), 'get'), 'one');
      const bad = secretd(['materialize', '--token-file', tokenFile, '--target', scratch, 'app.one:../x']);
      assert.equal(bad.status, 2);
      assert.match(bad.stderr, /FILE is a plain file name/);
    });
  });

  describe('built-in drivers', () => {
    test('file: docker secret create --driver file reads root/NAME; inspect shows the Driver as dockerd does', async () => {
      const id = ok(docker(['secret', 'create', '--driver', 'file', 'app.file']), 'create').trim();
      const inspected = JSON.parse(ok(docker(['secret', 'inspect', id]), 'inspect'))[0];
      assert.deepEqual(inspected.Spec.Driver, { Name: 'file' });
      assert.equal(ok(secretd(['get', '--token', admin, 'app.file']), 'get'), 'from-a-file\n');
    });

    test('file: Driver.Options.path picks the file; a path out of the root is a 400 naming the driver', async () => {
      const created = await daemon.request({
        method: 'POST',
        path: '/v1.44/secrets/create',
        body: { Name: 'app.deep', Driver: { Name: 'file', Options: { path: 'nested/deep' } } },
      });
      assert.equal(created.status, 201, created.text);
      const got = await deliver('app.deep', admin);
      assert.equal(got.status, 200);
      assert.equal(got.headers['content-type'], 'application/octet-stream');
      assert.equal(got.headers['x-secretd-do-not-reuse'], 'false');
      assert.equal(got.text, Buffer.from([0, 1, 2, 255]).toString('utf8'));
      const escaped = await daemon.request({
        method: 'POST',
        path: '/v1.44/secrets/create',
        body: { Name: 'app.escape', Driver: { Name: 'file', Options: { path: '../../etc/passwd' } } },
      });
      assert.equal(escaped.status, 400);
      assert.match(escaped.json.message, /^secret driver file: /);
      assert.equal((await daemon.request({ path: '/v1.44/secrets/app.escape' })).status, 404, 'a refused create leaves nothing');
    });

    test('env: an allow-listed variable of the daemon is the value; others are refused at create', async () => {
      ok(docker(['secret', 'create', '--driver', 'env', 'SECRETD_E2E_API_KEY']), 'create');
      const token = ok(secretd(['token', 'create', '--allow', 'SECRETD_E2E_*']), 'token').trim();
      assert.equal(ok(secretd(['get', '--token', token, 'SECRETD_E2E_API_KEY']), 'get'), API_KEY);
      const refused = docker(['secret', 'create', '--driver', 'env', 'SECRETD_OTHER']);
      assert.notEqual(refused.status, 0);
      assert.match(refused.stderr, /^Error response from daemon: secret driver env: .*SECRETD_OTHER/);
    });

    test('exec: a value from a real pass store, the key from Driver.Options', { skip: passMissing() }, async () => {
      const created = await daemon.request({
        method: 'POST',
        path: '/v1.44/secrets/create',
        body: { Name: 'app.db', Driver: { Name: 'exec', Options: { key: 'app/db' } } },
      });
      assert.equal(created.status, 201, created.text);
      assert.equal(ok(secretd(['get', '--token', admin, 'app.db']), 'get'), PASS_VALUE);
      const missing = await daemon.request({
        method: 'POST',
        path: '/v1.44/secrets/create',
        body: { Name: 'app.nope', Driver: { Name: 'exec', Options: { key: 'no/such' } } },
      });
      assert.equal(missing.status, 201, 'the store is asked at use, not at create, as Swarm does');
      const failed = await deliver('app.nope', admin);
      assert.equal(failed.status, 502);
      assert.match(failed.json.message, /^secret driver exec: pass "no\/such": exited with code 1/);
    });

    test("an unknown driver is dockerd's 500 at once, and the docker CLI shows its message", () => {
      const started = Date.now();
      const r = docker(['secret', 'create', '--driver', 'nope', 'app.nodriver']);
      assert.notEqual(r.status, 0);
      assert.equal(r.stderr.trim(), 'Error response from daemon: rpc error: code = Unknown desc = plugin "nope" not found');
      assert.ok(Date.now() - started < 10_000, 'no 15 s of retries');
    });
  });

  describe('a Docker secret-provider plugin', () => {
    test('docker secret create --driver PLUGIN activates it; delivery asks it with the task fields, never the options', async () => {
      const created = await daemon.request({
        method: 'POST',
        path: '/v1.44/secrets/create',
        body: { Name: 'app.vault', Labels: { 'fixture.value': 'from-the-plugin' }, Driver: { Name: 'e2e-vault', Options: { hidden: 'opt' } } },
      });
      assert.equal(created.status, 201, created.text);
      assert.deepEqual(
        plugin.requests().map((r) => r.path),
        ['/Plugin.Activate'],
        'create only activates, as dockerd',
      );
      const context = {
        Service: { ID: 'svc9', Name: 'api', Labels: { team: 'x' } },
        Node: { ID: 'node9' },
        Task: { ID: 'task9', Name: 'api.1.task9', Image: 'busybox:latest' },
      };
      const got = await deliver('app.vault', admin, context);
      assert.equal(got.status, 200, got.text);
      assert.equal(got.text, 'from-the-plugin');
      const asked = plugin.requests().filter((r) => r.path === '/SecretProvider.GetSecret');
      assert.equal(asked.length, 1);
      assert.equal(asked[0]!.headers.accept, 'application/vnd.docker.plugins.v1.2+json');
      assert.deepEqual(JSON.parse(asked[0]!.body), {
        SecretName: 'app.vault',
        SecretLabels: { 'fixture.value': 'from-the-plugin' },
        ServiceID: 'svc9',
        ServiceName: 'api',
        ServiceLabels: { team: 'x' },
        TaskID: 'task9',
        TaskName: 'api.1.task9',
        TaskImage: 'busybox:latest',
        NodeID: 'node9',
      });
    });

    test('DoNotReuse reaches the consumer as a header; a plugin error is a 502 with its Err', async () => {
      ok(docker(['secret', 'create', '--driver', 'e2e-vault', '--label', 'fixture.do-not-reuse=true', 'app.fresh']), 'create');
      const fresh = await deliver('app.fresh', admin);
      assert.equal(fresh.status, 200);
      assert.equal(fresh.headers['x-secretd-do-not-reuse'], 'true');
      ok(docker(['secret', 'create', '--driver', 'e2e-vault', '--label', 'fixture.error=vault sealed', 'app.sealed']), 'create');
      const failed = await deliver('app.sealed', admin);
      assert.equal(failed.status, 502);
      assert.match(failed.json.message, /^secret driver e2e-vault: .*vault sealed/);
    });
  });

  describe('templating', () => {
    const context = {
      Service: { ID: 'svc1', Name: 'web', Labels: { tier: 'front' } },
      Node: { ID: 'node1', Hostname: 'h1', Platform: { OS: 'linux', Architecture: 'x86_64' } },
      Task: { ID: 'task1', Name: 'web.1.task1', Slot: '1' },
      Env: ['GREETING=hello'],
      Secrets: [{ Secret: 'app.plain', Target: 'plain.txt' }],
    };

    test('a golang template renders with the task context, env and another secret the task references', async () => {
      const tmpl = join(scratch, 'tmpl');
      writeFileSync(tmpl, '{{.Service.Name}}/{{.Task.Slot}}/{{.Service.Labels.tier}} {{env "GREETING"}} {{secret "plain.txt"}}');
      ok(docker(['secret', 'create', '--template-driver', 'golang', 'tmpl.web', tmpl]), 'create');
      const inspected = JSON.parse(ok(docker(['secret', 'inspect', 'tmpl.web']), 'inspect'))[0];
      assert.deepEqual(inspected.Spec.Templating, { Name: 'golang' });
      const contextFile = join(scratch, 'context.json');
      writeFileSync(contextFile, JSON.stringify(context));
      assert.equal(ok(secretd(['get', '--token', admin, '--context', contextFile, 'tmpl.web']), 'get'), 'web/1/front hello plain value');
    });

    test('a template error is a 422 that names the line; an unknown templating driver fails at use, not at create', async () => {
      const tmpl = join(scratch, 'broken');
      writeFileSync(tmpl, 'line one\n{{.Service.Labels.absent}}\n');
      ok(docker(['secret', 'create', '--template-driver', 'golang', 'tmpl.broken', tmpl]), 'create');
      const broken = await deliver('tmpl.broken', admin, context);
      assert.equal(broken.status, 422);
      assert.match(broken.json.message, /^failed to expand templated secret [a-z0-9]{25}: template: \S+:2:\d+: .*map has no entry for key "absent"/);
      ok(docker(['secret', 'create', '--template-driver', 'nope', 'tmpl.unknown', tmpl]), 'create accepts any templating name');
      const unknown = await deliver('tmpl.unknown', admin, context);
      assert.equal(unknown.status, 422);
      assert.match(unknown.json.message, /unrecognized template type nope$/);
    });

    test('secret "target" obeys the token scope: a reference outside it is answered as a missing secret', async () => {
      const tmpl = join(scratch, 'peek');
      writeFileSync(tmpl, '{{secret "x"}}');
      ok(docker(['secret', 'create', '--template-driver', 'golang', 'tmpl.peek', tmpl]), 'create');
      const r = await deliver('tmpl.peek', admin, { ...context, Secrets: [{ Secret: 'outside', Target: 'x' }] });
      assert.equal(r.status, 404);
      assert.equal(r.json.message, 'secret outside not found');
      assert.ok(!r.text.includes('outside value'));
    });
  });

  test('the log has one delivery line per request, naming token and secret, never a value', async () => {
    const lines = daemon.logs.split('\n').filter((l) => l.includes('"msg":"delivery"'));
    assert.ok(lines.length >= 5, `delivery lines: ${lines.length}`);
    assert.ok(lines.some((l) => l.includes('"result":"delivered"') && l.includes('"secret":"app.plain"')));
    assert.ok(lines.some((l) => l.includes('"result":"not_found"') && l.includes('"secret":"outside"')));
    for (const value of ['plain value', 'outside value', API_KEY, PASS_VALUE, 'from-a-file', tokenParts(admin).secret]) {
      assert.ok(!daemon.logs.includes(value), `the daemon's output holds ${value}`);
    }
  });
});

describe('delivery over TCP', { skip }, () => {
  test('tokens are administered over the unix socket (or TLS with a client certificate), not plain TCP; a token holder reads over TCP', async () => {
    const tcpDaemon = await startDaemon({ args: ['--delivery', '-H', 'tcp://127.0.0.1:0'] });
    try {
      const port = /tcp:\/\/127\.0\.0\.1:(\d+)/.exec(tcpDaemon.logs)?.[1];
      assert.ok(port, `no TCP address in: ${tcpDaemon.logs}`);
      const tcp = `http://127.0.0.1:${port}`;
      const viaTcp = await request(tcp, { method: 'POST', path: '/_secretd/v1/tokens', body: { Allow: ['*'] } });
      assert.equal(viaTcp.status, 403);
      assert.deepEqual(viaTcp.json, { message: 'consumer tokens are administered over the unix socket or TLS with a client certificate only' });
      assert.equal((await request(tcp, { path: '/_secretd/v1/tokens' })).status, 403);
      const created = await tcpDaemon.request({ method: 'POST', path: '/_secretd/v1/tokens', body: { Allow: ['db'] } });
      assert.equal(created.status, 201);
      assert.equal((await tcpDaemon.request({ method: 'POST', path: '/secrets/create', body: { Name: 'db', Data: 'cHc=' } })).status, 201);
      const read = await request(tcp, { path: '/_secretd/v1/secrets/db/value', headers: { Authorization: `Bearer ${created.json.Token}` } });
      assert.equal(read.status, 200);
      assert.equal(read.text, 'pw');
    } finally {
      await tcpDaemon.dispose();
    }
  });
});
