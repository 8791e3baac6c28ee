/**
 * The installable command, as a user gets it: `npm pack` the checkout, `npm install -g` the
 * tarball into a scratch prefix, then run the installed `secretd` from `/` with a TypeScript
 * and a JavaScript driver in a folder of the user's (no package.json there), serve
 * `docker secret create --driver NAME` through the docker CLI, and run every client command
 * from yet another folder. Also: the systemd unit passes `systemd-analyze verify` against the
 * installed command, and `npm start` resolves relative paths against the folder it was typed in.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PROJECT_ROOT } from '../helpers/daemon.ts';
import { request } from '../helpers/http.ts';
import { dockerCliMissing } from '../helpers/tools.ts';

const scratch = mkdtempSync(join(tmpdir(), 'secretd-install-'));
const prefix = join(scratch, 'prefix');
const userDir = join(scratch, 'user'); // the user's own folder: drivers, a compose file, no package.json
const installed = join(prefix, 'bin', 'secretd');
const dockerConfig = join(scratch, 'docker-config');

function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string; timeout?: number } = {}): SpawnSyncReturns<string> {
  const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_CONFIG: dockerConfig, ...opts.env };
  for (const k of ['INIT_CWD', 'npm_lifecycle_event', 'npm_package_json']) delete env[k]; // as from a login shell
  const res = spawnSync(cmd, args, { cwd: opts.cwd ?? userDir, env, input: opts.input ?? '', encoding: 'utf8', timeout: opts.timeout ?? 60_000 });
  assert.equal(res.error, undefined, `could not run ${cmd}: ${String(res.error)}`);
  return res;
}

function ok(res: SpawnSyncReturns<string>, what: string): string {
  assert.equal(res.status, 0, `${what} exited ${res.status}:\n${res.stdout}\n${res.stderr}`);
  return res.stdout;
}

/** Starts a daemon command and waits until its socket answers /_ping; returns a stop function. */
async function startAndWait(
  cmd: string,
  args: string[],
  cwd: string,
  socket: string,
  env: NodeJS.ProcessEnv = {},
): Promise<{ stop: () => Promise<void>; logs: () => string; pid: number }> {
  const childEnv = { ...process.env, ...env };
  if (cmd === installed) for (const k of ['INIT_CWD', 'npm_lifecycle_event', 'npm_package_json']) delete childEnv[k];
  const proc = spawn(cmd, args, { cwd, env: childEnv, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()));
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) process.kill(-proc.pid!, 'SIGTERM');
    await exited;
  };
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`${cmd} exited ${proc.exitCode}:\n${out}`);
    const res = await request(`unix://${socket}`, { path: '/_ping' }).catch(() => undefined);
    if (res?.status === 200) return { stop, logs: () => out, pid: proc.pid! };
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error(`${cmd} did not answer on ${socket}:\n${out}`);
}

const TS_DRIVER = `// A TypeScript driver with types, in a folder without package.json.
interface Req { SecretName: string; Options: Record<string, string> }
const vault: Record<string, string> = { db_password: 'from-the-ts-driver' };
const driver = {
  kind: 'secret' as const,
  name: 'uservault',
  get(req: Req): { value: Uint8Array } {
    const v: string | undefined = vault[req.SecretName];
    if (v === undefined) throw new Error(\`no \${req.SecretName} in the vault\`);
    return { value: new TextEncoder().encode(v) };
  },
};
export default driver;
`;

const JS_DRIVER = `// An ES module driver in a .js file, in a folder without package.json.
export default {
  kind: 'secret',
  name: 'userjs',
  get: (req) => ({ value: new TextEncoder().encode('js:' + req.SecretName) }),
};
`;

describe('npm pack + npm install -g: the installed secretd', { skip: dockerCliMissing() }, () => {
  let tarball = '';

  before(() => {
    mkdirSync(userDir, { recursive: true });
    mkdirSync(dockerConfig);
    const packed = ok(run('npm', ['pack', '--silent', '--pack-destination', scratch], { cwd: PROJECT_ROOT, timeout: 120_000 }), 'npm pack');
    tarball = join(scratch, packed.trim().split('\n').pop()!);
    ok(
      run('npm', ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', tarball], {
        cwd: scratch,
        timeout: 600_000,
      }),
      'npm install -g',
    );
    writeFileSync(join(userDir, 'vault-driver.ts'), TS_DRIVER);
    writeFileSync(join(userDir, 'js-driver.js'), JS_DRIVER);
  });

  after(() => rmSync(scratch, { recursive: true, force: true }));

  test('the package holds what the command needs and no tests', () => {
    const files = ok(run('tar', ['tzf', tarball]), 'tar').split('\n');
    for (const f of [
      'package/bin/secretd.mjs',
      'package/dist/src/main.js',
      'package/dist/drivers/file.js',
      'package/src/main.ts',
      'package/spec/secret-spec.json',
      'package/drivers/file.ts',
      'package/tsconfig.json',
      'package/contrib/systemd/secretd.service',
      'package/README.md',
    ]) {
      assert.ok(files.includes(f), `${f} missing from the package`);
    }
    assert.deepEqual(
      files.filter((f) => f.startsWith('package/test/') || f.startsWith('package/node_modules/')),
      [],
    );
    assert.ok(statSync(installed).isFile());
  });

  test('runs its build as one node process: no npm, shell or tsx (whose compiler would be a child process)', async () => {
    const socket = join(scratch, 'plain.sock');
    const daemon = await startAndWait(installed, ['-H', `unix://${socket}`, '--data-root', join(scratch, 'plain-data')], '/', socket);
    try {
      const cmdline = readFileSync(`/proc/${daemon.pid}/cmdline`, 'utf8').split('\0');
      assert.match(cmdline[0]!, /(^|\/)node$/, `the command is node itself: ${cmdline.join(' ')}`);
      const children = readdirSync(`/proc/${daemon.pid}/task`).flatMap((t) =>
        readFileSync(`/proc/${daemon.pid}/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean),
      );
      assert.deepEqual(children, [], 'no child process (tsx runs esbuild as one)');
      const status = await request(`unix://${socket}`, { path: '/_ping' });
      assert.equal(status.status, 200);
    } finally {
      await daemon.stop();
    }
  });

  test('runs from /, loads a .ts and a .js driver from the user folder by relative paths, serves docker secret create --driver', async () => {
    const socket = join(scratch, 'secretd.sock');
    const host = `unix://${socket}`;
    // From `/`, so every path on this line is relative to `/` and must resolve against it.
    const rel = (p: string) => relative('/', p);
    const daemon = await startAndWait(
      installed,
      [
        '-H',
        host,
        '--data-root',
        rel(join(scratch, 'data')),
        '--driver',
        rel(join(userDir, 'vault-driver.ts')),
        '--driver',
        rel(join(userDir, 'js-driver.js')),
        '--delivery',
      ],
      '/',
      socket,
    );
    try {
      assert.ok(existsSync(join(scratch, 'data', 'secretd.db')), 'the data root given relative to / is where it says');
      const env = { DOCKER_HOST: host };
      ok(run('docker', ['secret', 'create', '--driver', 'uservault', 'db_password'], { env }), 'docker secret create --driver uservault');
      ok(run('docker', ['secret', 'create', '--driver', 'userjs', 'api_key'], { env }), 'docker secret create --driver userjs');
      const inspected = JSON.parse(ok(run('docker', ['secret', 'inspect', 'db_password'], { env }), 'inspect')) as { Spec: { Driver?: { Name: string } } }[];
      assert.equal(inspected[0]!.Spec.Driver?.Name, 'uservault');

      // Every client command of the installed secretd, from the user's folder.
      const token = ok(run(installed, ['token', 'create', '--allow', '*'], { env }), 'token create').trim();
      writeFileSync(join(userDir, 'app.token'), `${token}\n`, { mode: 0o600 });
      assert.equal(ok(run(installed, ['get', '--token-file', 'app.token', 'db_password'], { env }), 'get'), 'from-the-ts-driver');
      assert.equal(ok(run(installed, ['get', '--token-file', 'app.token', 'api_key'], { env }), 'get'), 'js:api_key');
      mkdirSync(join(userDir, 'out'));
      ok(run(installed, ['materialize', '--token-file', 'app.token', '--target', 'out', 'db_password:db.txt'], { env }), 'materialize');
      assert.equal(readFileSync(join(userDir, 'out', 'db.txt'), 'utf8'), 'from-the-ts-driver');
      assert.match(ok(run(installed, ['token', 'ls'], { env }), 'token ls'), /\*/);

      writeFileSync(join(userDir, 'pw.txt'), 'pa55');
      ok(run(installed, ['secret', 'create', '-f', 'pw.txt', 'from_file'], { env }), 'secret create -f (relative)');
      writeFileSync(join(userDir, 'compose.yml'), 'secrets:\n  key:\n    file: ./pw.txt\n');
      ok(run(installed, ['stack', 'deploy', '-c', 'compose.yml', 'app'], { env }), 'stack deploy');
      const lines = ok(run(installed, ['secret', 'ls', '--format', 'json'], { env }), 'secret ls')
        .split('\n')
        .filter(Boolean);
      const names = lines.map((l) => (JSON.parse(l) as { Name: string }).Name);
      assert.deepEqual(names, ['api_key', 'app_key', 'db_password', 'from_file']);
      ok(run(installed, ['stack', 'rm', 'app'], { env }), 'stack rm');
      ok(run(installed, ['secret', 'rm', 'from_file'], { env }), 'secret rm');
      assert.match(ok(run(installed, ['audit', 'verify', join(scratch, 'data', 'audit.log')]), 'audit verify'), /chain intact/);
      assert.match(ok(run(installed, ['--help'], { cwd: '/' }), '--help'), /--driver/);
    } finally {
      await daemon.stop();
    }
  });

  test('the systemd unit passes systemd-analyze verify with the installed command', {
    skip: existsSync('/usr/bin/systemd-analyze') ? false : 'systemd-analyze is not installed (Debian: systemd)',
  }, () => {
    const unit = readFileSync(join(PROJECT_ROOT, 'contrib/systemd/secretd.service'), 'utf8');
    assert.match(unit, /^ExecStart=\/usr\/local\/bin\/secretd /m);
    for (const line of [
      'ProtectSystem=strict',
      'PrivateTmp=yes',
      'NoNewPrivileges=yes',
      'CapabilityBoundingSet=',
      'StateDirectoryMode=0700',
      'UMask=0077',
      'RuntimeDirectory=secretd',
      'Environment=MALLOC_ARENA_MAX=2',
      'Environment=NODE_OPTIONS=--max-semi-space-size=8',
    ]) {
      assert.match(unit, new RegExp(`^${line}$`, 'm'), `the unit lacks ${line}`);
    }
    // Node takes the unit's NODE_OPTIONS (it refuses some flags there), and V8's young generation keeps to it.
    const nodeOptions = /^Environment=NODE_OPTIONS=(.*)$/m.exec(unit)![1]!;
    const young = run(
      process.execPath,
      [
        '-e',
        "const k=[];for(let i=0;i<2e6;i++)k.push({i});console.log(require('v8').getHeapSpaceStatistics().find((s)=>s.space_name==='new_space').space_size)",
      ],
      { env: { ...process.env, NODE_OPTIONS: nodeOptions } },
    );
    assert.equal(young.status, 0, young.stderr);
    assert.ok(Number(young.stdout) <= 16 * 1024 * 1024, `new space of ${young.stdout.trim()} bytes under ${nodeOptions}`);
    assert.doesNotMatch(unit, /^MemoryDenyWriteExecute=yes/m, 'V8 JIT cannot run under MemoryDenyWriteExecute');
    const copy = join(scratch, 'secretd.service');
    writeFileSync(copy, unit.replace('/usr/local/bin/secretd', installed));
    const res = run('systemd-analyze', ['verify', copy], { cwd: scratch });
    assert.equal(res.status, 0, res.stderr);
    assert.equal(res.stderr.trim(), '', 'systemd-analyze printed warnings');
  });
});

describe('npm start: relative paths are the folder npm was typed in', () => {
  test('--driver and --data-root relative to INIT_CWD, not to the checkout', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'secretd-initcwd-'));
    try {
      writeFileSync(join(dir, 'here.ts'), TS_DRIVER.replace("name: 'uservault'", "name: 'here'"));
      const socket = join(dir, 's.sock');
      const daemon = await startAndWait(
        'npm',
        ['--prefix', PROJECT_ROOT, 'start', '--silent', '--', '-H', `unix://${socket}`, '--data-root', 'data', '--driver', './here.ts'],
        dir,
        socket,
      );
      try {
        assert.ok(readdirSync(join(dir, 'data')).includes('secretd.db'), daemon.logs());
        const res = await request(`unix://${socket}`, {
          method: 'POST',
          path: '/v1.44/secrets/create',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ Name: 'x', Driver: { Name: 'here' } }),
        });
        assert.equal(res.status, 201, res.text);
      } finally {
        await daemon.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
