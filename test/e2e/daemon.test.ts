/**
 * The daemon as an operator runs it: flags, file permissions, one daemon per data root, a
 * graceful stop that finishes in-flight requests, swarm state that survives restarts.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { FLAGS } from '../../src/daemon/flags.ts';
import { PROJECT_ROOT, startDaemon, type Daemon } from '../helpers/daemon.ts';
import { request } from '../helpers/http.ts';

const daemons: Daemon[] = [];
after(async () => {
  for (const d of daemons) await d.dispose();
});
async function start(opts: Parameters<typeof startDaemon>[0] = {}): Promise<Daemon> {
  const d = await startDaemon(opts);
  daemons.push(d);
  return d;
}

function npmStart(args: string[]) {
  return spawnSync('npm', ['start', '--silent', '--', ...args], { cwd: PROJECT_ROOT, encoding: 'utf8', timeout: 30_000 });
}

describe('command line', () => {
  test('--help lists every flag and --version names the API', () => {
    const help = npmStart(['--help']);
    assert.equal(help.status, 0);
    for (const f of FLAGS) assert.ok(help.stdout.includes(`--${f.name}`), `--help lacks --${f.name}`);
    const version = npmStart(['--version']);
    assert.equal(version.status, 0);
    assert.match(version.stdout, /^secretd \S+ \(Docker Engine API 1\.44\)$/m);
  });

  test('an unknown flag or a bad address stops the start with a clear message', () => {
    const unknown = npmStart(['--bogus']);
    assert.notEqual(unknown.status, 0);
    assert.match(unknown.stderr, /unknown flag --bogus/);
    const badHost = npmStart(['-H', 'ftp://x', '--data-root', join(tmpdir(), 'secretd-never')]);
    assert.notEqual(badHost.status, 0);
    assert.match(badHost.stderr, /-H ftp:\/\/x: use unix:\/\/\/path or tcp:\/\/HOST:PORT/);
    const remote = npmStart(['-H', 'tcp://0.0.0.0:0', '--data-root', mkdtempSync(join(tmpdir(), 'secretd-remote-'))]);
    assert.notEqual(remote.status, 0);
    assert.match(remote.stderr, /refusing to listen on tcp:\/\/0\.0\.0\.0:0/);
  });

  test('prints where it listens and the DOCKER_HOST line; serves TCP on loopback too', async () => {
    const d = await start({ args: ['-H', 'tcp://127.0.0.1:0'] });
    assert.match(d.logs, new RegExp(`export DOCKER_HOST=unix://${d.socket.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    const tcp = /listening on .*tcp:\/\/127\.0\.0\.1:(\d+)/.exec(d.logs);
    assert.ok(tcp, d.logs);
    const res = await fetch(`http://127.0.0.1:${tcp[1]}/_ping`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'OK');
  });
});

describe('log formats', () => {
  test('--log-format text: one readable line a record, no JSON, no value', async () => {
    const d = await start({ args: ['--log-format', 'text', '--log-level', 'debug'] });
    const value = 'text-log-value-never-shown';
    const res = await d.request({ method: 'POST', path: '/secrets/create', body: { Name: 'text-log', Data: Buffer.from(value).toString('base64') } });
    assert.equal(res.status, 201, res.text);
    await d.stop();
    const logLines = d.logs.split('\n').filter((l) => /^\d{4}-\d\d-\d\dT\S+Z [A-Z]+ /.test(l));
    assert.ok(
      logLines.some((l) => / INFO listening addresses=\[/.test(l)),
      d.logs,
    );
    assert.ok(
      logLines.some((l) => / INFO stopped$/.test(l)),
      d.logs,
    );
    assert.doesNotMatch(d.logs, /"level":/);
    assert.ok(!d.logs.includes(value) && !d.logs.includes(Buffer.from(value).toString('base64')), 'no value in the log');
  });
});

describe('files and locks', () => {
  test('socket 0660, data root 0700, keyring and database 0600', async () => {
    const d = await start();
    assert.equal(statSync(d.socket).mode & 0o777, 0o660);
    assert.equal(statSync(d.dataRoot).mode & 0o777, 0o700);
    for (const file of ['keyring.json', 'secretd.db', 'secretd.db-wal']) {
      assert.equal(statSync(join(d.dataRoot, file)).mode & 0o777, 0o600, file);
    }
  });

  test('a second daemon on the same data root is refused and the first keeps serving', async () => {
    const d = await start();
    const second = npmStart(['-H', `unix://${d.socket}.2`, '--data-root', d.dataRoot]);
    assert.notEqual(second.status, 0);
    assert.match(second.stderr, new RegExp(`another secretd \\(pid \\d+\\) is using the data root ${d.dataRoot}`));
    assert.equal((await d.request({ path: '/_ping' })).status, 200);
  });

  test('a socket left by a killed daemon is replaced; a live one is refused', async () => {
    const d = await start();
    const other = npmStart(['-H', `unix://${d.socket}`, '--data-root', mkdtempSync(join(tmpdir(), 'secretd-other-'))]);
    assert.notEqual(other.status, 0);
    assert.match(other.stderr, /is in use by another daemon/);
    await d.kill9();
    assert.ok(existsSync(d.socket), 'SIGKILL leaves the socket file behind');
    const dir = mkdtempSync(join(tmpdir(), 'secretd-restart-'));
    const proc = spawn('npm', ['start', '--silent', '--', '-H', `unix://${d.socket}`, '--data-root', d.dataRoot], {
      cwd: PROJECT_ROOT,
      detached: true,
      stdio: 'ignore',
    });
    try {
      let status = 0;
      for (let i = 0; i < 100 && status !== 200; i++) {
        await new Promise((r) => setTimeout(r, 100));
        status = (await d.request({ path: '/_ping' }).catch(() => ({ status: 0 }))).status;
      }
      assert.equal(status, 200);
    } finally {
      process.kill(-proc.pid!, 'SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('graceful stop', () => {
  test('after every listener and a command-running driver served, SIGTERM ends the process by itself: exit 0 within 5 s', async () => {
    // main() does not call process.exit: a handle a stop leaves open (a listener, a kept-alive
    // connection, a driver's child, a timer) would keep the process running, and fail this.
    const dir = mkdtempSync(join(tmpdir(), 'secretd-stop-'));
    const pluginSocket = join(dir, 'stop-test.sock');
    const d = await start({
      args: ['-H', 'tcp://127.0.0.1:0', '--ui', '--delivery', '--plugin-listen', pluginSocket, '--plugin-allow', '*', '--driver-opt', 'exec.command=/bin/echo'],
    });
    try {
      const name = `stop-${process.pid}-${Date.now().toString(36)}`;
      assert.equal((await d.request({ method: 'POST', path: '/secrets/create', body: { Name: name, Driver: { Name: 'exec' } } })).status, 201);
      const token = await d.request({ method: 'POST', path: '/_secretd/v1/tokens', body: { Allow: ['*'] } });
      assert.equal(token.status, 201, token.text);
      // A kept-alive connection that stays open (idle) when the stop begins.
      const agent = new http.Agent({ keepAlive: true });
      const value = await new Promise<string>((resolve, reject) => {
        const req = http.get(
          { socketPath: d.socket, agent, path: `/_secretd/v1/secrets/${name}/value`, headers: { Authorization: `Bearer ${token.json.Token}` } },
          (res) => {
            let text = '';
            res.on('data', (c) => (text += c));
            res.on('end', () => (res.statusCode === 200 ? resolve(text) : reject(new Error(`${res.statusCode}: ${text}`))));
          },
        );
        req.on('error', reject);
      });
      assert.equal(value, name, 'the exec driver ran /bin/echo NAME');
      const activate = await request(`unix://${pluginSocket}`, { method: 'POST', path: '/Plugin.Activate' });
      assert.equal(activate.status, 200, activate.text);
      const began = Date.now();
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'still running'>((resolve) => (timer = setTimeout(() => resolve('still running'), 5000)));
      const code = await Promise.race([d.stop(), late]);
      clearTimeout(timer);
      agent.destroy();
      assert.equal(code, 0, `${code === 'still running' ? 'still running 5 s after SIGTERM' : `exit ${code}`}\n${d.logs}`);
      assert.ok(Date.now() - began < 5000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('SIGTERM finishes the request in flight, removes socket and pid file, exits 0', async () => {
    const d = await start();
    const body = JSON.stringify({ Name: 'inflight', Data: 'aGVsbG8=' });
    const answer = new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = http.request(
        { socketPath: d.socket, method: 'POST', path: '/secrets/create', headers: { 'Content-Type': 'application/json', 'Content-Length': body.length } },
        (res) => {
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.on('error', reject);
      req.write(body.slice(0, 10)); // half a request: the daemon is now waiting for the rest
      setTimeout(() => {
        void d.stop();
        setTimeout(() => req.end(body.slice(10)), 500);
      }, 300);
    });
    const res = await answer;
    assert.equal(res.status, 201, res.text);
    await d.stop();
    assert.equal(d.proc.exitCode, 0, d.logs);
    assert.ok(!existsSync(d.socket), 'socket removed');
    assert.ok(!existsSync(join(d.dataRoot, 'secretd.pid')), 'pid file removed');
    assert.match(d.logs, /"msg":"stopped"/);
    const again = await start({ dataRoot: d.dataRoot });
    assert.equal((await again.request({ path: '/secrets/inflight' })).status, 200);
  });
});

describe('swarm state', () => {
  test('--no-swarm-init: secrets answer 503 until swarm init, which persists', async () => {
    const d = await start({ args: ['--no-swarm-init'] });
    const ping = await d.request({ path: '/_ping' });
    assert.equal(ping.headers['swarm'], 'inactive');
    const list = await d.request({ path: '/v1.44/secrets' });
    assert.equal(list.status, 503);
    assert.equal(
      list.json.message,
      'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.',
    );
    // The 503 comes after body decoding, before validation, as in dockerd.
    assert.equal((await d.request({ method: 'POST', path: '/secrets/create', body: '{bad' })).status, 400);
    assert.equal((await d.request({ method: 'POST', path: '/secrets/create', body: { Name: '-bad' } })).status, 503);
    assert.equal((await d.request({ path: '/swarm' })).status, 503);
    const info = await d.request({ path: '/info' });
    assert.equal(info.json.Swarm.LocalNodeState, 'inactive');
    // NCPU counts the CPUs the daemon may run on, as Go's runtime.NumCPU() does for dockerd: nproc's count.
    assert.equal(info.json.NCPU, Number(spawnSync('nproc', { encoding: 'utf8' }).stdout.trim()));
    const init = await d.request({ method: 'POST', path: '/swarm/init', body: { ListenAddr: '0.0.0.0:2377' } });
    assert.equal(init.status, 200);
    assert.match(init.json, /^[a-z0-9]{25}$/);
    await d.stop();
    const again = await start({ dataRoot: d.dataRoot, args: ['--no-swarm-init'] });
    assert.equal((await again.request({ path: '/v1.44/secrets' })).status, 200);
    assert.equal((await again.request({ path: '/swarm' })).json.ID, (await again.request({ path: '/info' })).json.Swarm.Cluster.ID);
  });

  test('leave --force erases every secret, and the node stays out of the swarm after a restart', async () => {
    const d = await start();
    assert.equal((await d.request({ method: 'POST', path: '/secrets/create', body: { Name: 'gone', Data: 'eA==' } })).status, 201);
    const refused = await d.request({ method: 'POST', path: '/swarm/leave' });
    assert.equal(refused.status, 503);
    assert.match(refused.json.message, /^You are attempting to leave the swarm on a node that is participating as a manager\. /);
    assert.equal((await d.request({ method: 'POST', path: '/swarm/leave?force=1' })).status, 200);
    assert.equal((await d.request({ method: 'POST', path: '/swarm/leave?force=true' })).json.message, 'This node is not part of a swarm');
    await d.stop();
    const again = await start({ dataRoot: d.dataRoot });
    assert.equal((await again.request({ path: '/secrets' })).status, 503);
    assert.equal((await again.request({ method: 'POST', path: '/swarm/init', body: {} })).status, 200);
    assert.deepEqual((await again.request({ path: '/secrets' })).json, []);
  });
});

describe('request log', () => {
  test('one line per request with method, path, status and duration, never the query', async () => {
    const d = await start();
    await d.request({ method: 'POST', path: '/secrets/create?Data=c2VjcmV0dmFsdWU%3D', body: { Name: 'logged', Data: 'c2VjcmV0dmFsdWU=' } });
    await d.stop();
    const lines = d.logs
      .split('\n')
      .filter((l) => l.includes('"msg":"request"'))
      .map((l) => JSON.parse(l));
    const create = lines.find((l) => l.path === '/secrets/create');
    assert.ok(create, d.logs);
    assert.equal(create.method, 'POST');
    assert.equal(create.status, 201);
    assert.equal(typeof create.ms, 'number');
    assert.ok(!d.logs.includes('c2VjcmV0dmFsdWU'), 'a value reached the log');
  });
});

describe('clients that misbehave', () => {
  test('a client that hangs up halfway through a body leaves nothing behind and the daemon serving', async () => {
    const d = await start();
    for (let i = 0; i < 20; i++) {
      await new Promise<void>((resolve) => {
        const req = http.request({
          socketPath: d.socket,
          method: 'POST',
          path: '/secrets/create',
          headers: { 'Content-Type': 'application/json', 'Content-Length': 1000 },
        });
        req.on('error', () => resolve());
        req.write(`{"Name":"half-${i}","Data":"aGVs`);
        setTimeout(() => {
          req.destroy();
          resolve();
        }, 20);
      });
    }
    const list = await d.request({ path: '/secrets' });
    assert.equal(list.status, 200);
    assert.deepEqual(list.json, []);
    await d.stop();
    assert.equal(d.proc.exitCode, 0, 'no request is left waiting: the stop finishes and exits 0');
  });
});
