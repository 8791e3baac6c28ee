/**
 * The HTTP edge of a real daemon (`npm start -- -H unix://… -H tcp://127.0.0.1:0 --delivery
 * --ui`), over raw sockets:
 *
 * - the transport comes from the listener: TCP clients that send a request and reset at once
 *   (SO_LINGER 0, `resetAndDestroy`) never pass for the unix socket — no token is created, no
 *   KEK rotated — and every TCP request is audited as `tcp`;
 * - no web page can drive the API: on the TCP listener, for every kind of route (Engine API,
 *   /_secretd/v1, /ui, unknown paths), a foreign Host, a foreign Origin (`null` included) and
 *   Sec-Fetch-Site cross-site/same-site are a 403 JSON refusal that changes nothing, while the
 *   unix socket ignores them and what the docker CLI, dockerode and docker-py send passes;
 * - every security-relevant change is audited with who did it: swarm update (autolock, token
 *   and unlock-key rotation), unlock with a bad and a good key, KEK rotation, token create and
 *   revoke.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Docker from 'dockerode';
import { startDaemon, type Daemon } from '../helpers/daemon.ts';
import { request, type RawResponse } from '../helpers/http.ts';
import { dockerCliMissing, dockerPyMissing, SYSTEM_PYTHON } from '../helpers/tools.ts';

const scratch = mkdtempSync(join(tmpdir(), 'secretd-edge-'));
let daemon: Daemon;
let port: number;
let tcp: string;

after(async () => {
  await daemon?.dispose();
  rmSync(scratch, { recursive: true, force: true });
});

function tcpPort(d: Daemon): number {
  const m = /listening on .*tcp:\/\/127\.0\.0\.1:(\d+)/.exec(d.logs);
  assert.ok(m, d.logs);
  return Number(m[1]);
}

async function start(dataRoot?: string): Promise<void> {
  daemon = await startDaemon({ ...(dataRoot ? { dataRoot } : {}), args: ['-H', 'tcp://127.0.0.1:0', '--delivery', '--ui'] });
  port = tcpPort(daemon);
  tcp = `http://127.0.0.1:${port}`;
}

interface AuditLine {
  who: { transport: string; address?: string; socket?: string; certSubject?: string; via?: string };
  action: string;
  result: string;
  status?: number;
  token?: string;
  change?: Record<string, unknown>;
  secret?: { id?: string; name?: string; ref?: string };
}

function auditLines(): AuditLine[] {
  return readFileSync(join(daemon.dataRoot, 'audit.log'), 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as AuditLine);
}

/** Sends `raw` on a new TCP connection and resets it at once (RST, as SO_LINGER 0 does), without waiting for an answer. */
function sendAndReset(raw: string): Promise<void> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => {
      s.write(raw, () => {
        s.resetAndDestroy();
        resolve();
      });
    });
    s.on('error', () => resolve());
  });
}

function rawPost(path: string, body: string): string {
  return `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

/** Waits until `check` holds (the daemon handles reset requests after the client is gone). */
async function eventually(what: string, check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('the HTTP edge of a real daemon', () => {
  before(() => start());

  describe('the transport comes from the listener', () => {
    test('reset TCP requests to the unix-only endpoints create no token and rotate no key; all are audited as tcp', async () => {
      const keyBefore = (await daemon.request({ path: '/_secretd/v1/keys' })).json.CurrentKey;
      const linesBefore = auditLines().length;
      const N = 60;
      for (let i = 0; i < N; i++) {
        await sendAndReset(rawPost('/_secretd/v1/tokens', '{"Allow":["*"]}'));
        await sendAndReset(rawPost('/_secretd/v1/keys/rotate', ''));
        await sendAndReset(`DELETE /v1.44/secrets/reset-${i} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
      }
      // The daemon sees some of them (a reset can beat the request); wait until the log is quiet for 500 ms.
      let seen = -1;
      let since = Date.now();
      await eventually(
        'the reset requests to settle',
        () => {
          const now = auditLines().length;
          if (now !== seen) [seen, since] = [now, Date.now()];
          return Date.now() - since >= 500;
        },
        20_000,
      );
      assert.equal((await daemon.request({ path: '/_secretd/v1/tokens' })).json.length, 0, 'no token was created over TCP');
      assert.equal((await daemon.request({ path: '/_secretd/v1/keys' })).json.CurrentKey, keyBefore, 'no KEK rotation over TCP');
      const fresh = auditLines().slice(linesBefore);
      assert.ok(fresh.length > 0, 'some reset requests reached the daemon');
      for (const l of fresh) {
        assert.equal(l.who.transport, 'tcp', JSON.stringify(l));
        assert.notEqual(l.result, 'ok', JSON.stringify(l));
      }
      console.log(`# ${3 * N} reset requests, ${fresh.length} reached the daemon: all audited as tcp, none succeeded`);
    });

    test('a plain TCP delete is audited as tcp with the peer address, a unix one with the socket', async () => {
      const created = await daemon.request({ method: 'POST', path: '/v1.44/secrets/create', body: { Name: 'edge-tcp-delete', Data: 'eA==' } });
      assert.equal(created.status, 201);
      assert.equal((await request(tcp, { method: 'DELETE', path: '/v1.44/secrets/edge-tcp-delete' })).status, 204);
      const [create, remove] = auditLines().filter((l) => l.secret?.id === created.json.ID);
      assert.deepEqual(create!.who, { transport: 'unix', socket: daemon.socket });
      assert.equal(remove!.action, 'secret.remove');
      assert.equal(remove!.who.transport, 'tcp');
      assert.equal(remove!.who.address, '127.0.0.1');
    });

    test('token and key administration over TCP is refused (403) and audited', async () => {
      const t = await request(tcp, { method: 'POST', path: '/_secretd/v1/tokens', body: { Allow: ['*'] } });
      assert.equal(t.status, 403);
      const k = await request(tcp, { method: 'POST', path: '/_secretd/v1/keys/rotate' });
      assert.equal(k.status, 403);
      const last = auditLines().slice(-2);
      assert.deepEqual(
        last.map((l) => [l.action, l.who.transport, l.result, l.status]),
        [
          ['token.create', 'tcp', 'forbidden', 403],
          ['keys.rotate', 'tcp', 'forbidden', 403],
        ],
      );
    });
  });

  describe('no web page can drive the API', () => {
    const routes: [method: string, path: string][] = [
      ['GET', '/_ping'],
      ['GET', '/v1.44/swarm'],
      ['POST', '/v1.44/swarm/leave?force=1'],
      ['POST', '/v1.44/secrets/create'],
      ['GET', '/_secretd/v1/tokens'],
      ['GET', '/ui'],
      ['POST', '/ui/new'],
      ['GET', '/no/such/route'],
      ['OPTIONS', '/v1.44/secrets'],
    ];
    const hostile: [what: string, headers: (own: string) => Record<string, string>][] = [
      ['a rebinding Host', () => ({ host: `evil.example:${port}` })],
      ['a Host with no port of another name', () => ({ host: 'attacker.test' })],
      ['a Host that looks like loopback but is a name', () => ({ host: `127.0.0.1.evil.example:${port}` })],
      ['Origin of another site', (own) => ({ host: own, origin: 'http://evil.example' })],
      ['Origin of another port on localhost', (own) => ({ host: own, origin: `http://localhost:${port + 1}` })],
      ['Origin: null (a sandboxed page, a data: URL)', (own) => ({ host: own, origin: 'null' })],
      ['Sec-Fetch-Site: cross-site', (own) => ({ host: own, 'sec-fetch-site': 'cross-site' })],
      ['Sec-Fetch-Site: same-site (another port of localhost)', (own) => ({ host: own, 'sec-fetch-site': 'same-site' })],
      [
        'a text/plain form POST as Chromium sends it',
        (own) => ({ host: own, origin: 'http://evil.example', 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate', 'content-type': 'text/plain' }),
      ],
    ];
    for (const [what, headers] of hostile) {
      test(`${what}: 403 JSON on every route over TCP, nothing changed`, async () => {
        const before = await daemon.request({ path: '/v1.44/swarm' });
        for (const [method, path] of routes) {
          const res = await request(tcp, {
            method,
            path,
            headers: headers(`127.0.0.1:${port}`),
            ...(method === 'POST' ? { body: '{"Name":"x","Data":"eA=="}' } : {}),
          });
          assert.equal(res.status, 403, `${method} ${path}: ${res.status} ${res.text}`);
          assert.equal(res.headers['content-type'], 'application/json', `${method} ${path}`);
          assert.match(res.json.message, /^refused: .*; nothing was changed$/);
          assert.doesNotMatch(res.text, /evil|attacker/, 'the refusal names no header value');
        }
        const after = await daemon.request({ path: '/v1.44/swarm' });
        assert.equal(after.status, 200, 'still in the swarm');
        assert.equal(after.json.ID, before.json.ID);
        assert.equal((await daemon.request({ path: '/v1.44/secrets' })).json.filter((s: any) => s.Spec.Name === 'x').length, 0);
      });
    }

    test('the unix socket ignores Host, Origin and Sec-Fetch-Site', async () => {
      const res = await daemon.request({ path: '/v1.44/secrets', headers: { host: 'evil.example', origin: 'null', 'sec-fetch-site': 'cross-site' } });
      assert.equal(res.status, 200);
    });

    test('loopback names and the listener address pass, with or without a port, and same-origin requests pass', async () => {
      for (const host of [`127.0.0.1:${port}`, '127.0.0.1', `localhost:${port}`, 'LOCALHOST', `127.8.9.10:${port}`, `[::1]:${port}`, '[::1]']) {
        const res = await request(tcp, { path: '/v1.44/secrets', headers: { host } });
        assert.equal(res.status, 200, `Host: ${host}: ${res.text}`);
      }
      const own = await request(tcp, {
        path: '/v1.44/secrets',
        headers: { host: `localhost:${port}`, origin: `http://localhost:${port}`, 'sec-fetch-site': 'same-origin' },
      });
      assert.equal(own.status, 200);
      const typed = await request(tcp, { path: '/ui', headers: { host: `127.0.0.1:${port}`, 'sec-fetch-site': 'none' } });
      assert.equal(typed.status, 200);
    });

    test('the docker CLI over tcp://127.0.0.1:PORT works unchanged', { skip: dockerCliMissing() }, () => {
      const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_HOST: `tcp://127.0.0.1:${port}`, DOCKER_CONFIG: join(scratch, 'docker-config') };
      delete env.DOCKER_TLS_VERIFY;
      delete env.DOCKER_CONTEXT;
      const create = spawnSync('docker', ['secret', 'create', 'edge-cli', '-'], { env, input: 'v', encoding: 'utf8' });
      assert.equal(create.status, 0, create.stderr);
      const ls = spawnSync('docker', ['secret', 'ls', '--format', '{{.Name}}'], { env, encoding: 'utf8' });
      assert.equal(ls.status, 0, ls.stderr);
      assert.match(ls.stdout, /^edge-cli$/m);
      const rm = spawnSync('docker', ['secret', 'rm', 'edge-cli'], { env, encoding: 'utf8' });
      assert.equal(rm.status, 0, rm.stderr);
    });

    test('dockerode over TCP works unchanged', async () => {
      const docker = new Docker({ host: '127.0.0.1', port, protocol: 'http' });
      const created = await docker.createSecret({ Name: 'edge-dockerode', Data: Buffer.from('v').toString('base64') });
      const secret = docker.getSecret((created as unknown as { id: string }).id);
      assert.equal((await secret.inspect()).Spec?.Name, 'edge-dockerode');
      await secret.remove();
    });

    test('docker-py over TCP works unchanged', { skip: dockerPyMissing() }, () => {
      const script = [
        'import docker',
        `c = docker.DockerClient(base_url="tcp://127.0.0.1:${port}")`,
        's = c.secrets.create(name="edge-docker-py", data=b"v")',
        'print(c.secrets.get(s.id).name)',
        's.remove()',
      ].join('\n');
      const r = spawnSync(SYSTEM_PYTHON, ['-c', script], { encoding: 'utf8', env: { ...process.env, DOCKER_HOST: '' } });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout.trim(), 'edge-docker-py');
    });
  });

  describe('security-relevant changes are audited with who did it', () => {
    const swarmVersion = async () => (await daemon.request({ path: '/v1.44/swarm' })).json.Version.Index as number;
    const update = async (query: string, autolock: boolean): Promise<RawResponse> =>
      daemon.request({
        method: 'POST',
        path: `/v1.44/swarm/update?version=${await swarmVersion()}${query}`,
        body: { Name: 'default', EncryptionConfig: { AutoLockManagers: autolock } },
      });

    test('token administration: create and revoke', async () => {
      const t = await daemon.request({ method: 'POST', path: '/_secretd/v1/tokens', body: { Allow: ['x'] } });
      assert.equal(t.status, 201);
      assert.equal((await daemon.request({ method: 'DELETE', path: `/_secretd/v1/tokens/${t.json.ID}` })).status, 204);
      const [create, revoke] = auditLines().slice(-2);
      assert.deepEqual([create!.action, create!.token, create!.who.transport, create!.result], ['token.create', t.json.ID, 'unix', 'ok']);
      assert.deepEqual([revoke!.action, revoke!.token, revoke!.who.transport, revoke!.result], ['token.revoke', t.json.ID, 'unix', 'ok']);
      assert.ok(!JSON.stringify(auditLines()).includes(t.json.Token), 'the token secret is never audited');
    });

    test('a console action is audited with the browser connection, via the console', async () => {
      const own = `127.0.0.1:${port}`;
      const page = await request(tcp, { path: '/ui/new', headers: { host: own, 'sec-fetch-site': 'none' } });
      assert.equal(page.status, 200);
      const cookie = String((page.headers['set-cookie'] as string[])[0]).split(';')[0]!;
      const csrf = /name="csrf" value="([^"]+)"/.exec(page.text)![1]!;
      const form = new URLSearchParams({ csrf, kind: 'text', name: 'edge-console', value: 'v4lue-edge', labels: '' }).toString();
      const headers = { host: own, origin: `http://${own}`, 'sec-fetch-site': 'same-origin', cookie, 'content-type': 'application/x-www-form-urlencoded' };
      const res = await request(tcp, { method: 'POST', path: '/ui/new', headers, body: form });
      assert.equal(res.status, 303, res.text);
      const l = auditLines().at(-1)!;
      assert.deepEqual([l.action, l.secret?.name, l.who.transport, l.who.address, l.who.via], ['secret.create', 'edge-console', 'tcp', '127.0.0.1', 'console']);
    });

    test('KEK rotation', async () => {
      assert.equal((await daemon.request({ method: 'POST', path: '/_secretd/v1/keys/rotate' })).status, 200);
      const l = auditLines().at(-1)!;
      assert.deepEqual([l.action, l.who.transport, l.result], ['keys.rotate', 'unix', 'ok']);
    });

    test('swarm update: rotations and autolock on, then a bad and a good unlock after a restart', async () => {
      assert.equal((await update('&rotateWorkerToken=true&rotateManagerToken=1', false)).status, 200);
      let l = auditLines().at(-1)!;
      assert.deepEqual(
        [l.action, l.who.transport, l.result, l.change],
        ['swarm.update', 'unix', 'ok', { autolock: 'off', rotateWorkerToken: true, rotateManagerToken: true }],
      );

      assert.equal((await update('', true)).status, 200);
      l = auditLines().at(-1)!;
      assert.deepEqual([l.action, l.result, l.change], ['swarm.update', 'ok', { autolock: 'on' }]);
      assert.equal((await update('&rotateManagerUnlockKey=true', true)).status, 200);
      l = auditLines().at(-1)!;
      assert.deepEqual(l.change, { autolock: 'on', rotateManagerUnlockKey: true });
      const key = (await daemon.request({ path: '/v1.44/swarm/unlockkey' })).json.UnlockKey as string;

      const dataRoot = daemon.dataRoot;
      await daemon.stop();
      await start(dataRoot);
      const bad = await daemon.request({ method: 'POST', path: '/v1.44/swarm/unlock', body: { UnlockKey: 'SWMKEY-1-' + 'A'.repeat(43) } });
      assert.notEqual(bad.status, 200);
      const good = await daemon.request({ method: 'POST', path: '/v1.44/swarm/unlock', body: { UnlockKey: key } });
      assert.equal(good.status, 200, good.text);
      const [b, g] = auditLines().slice(-2);
      assert.deepEqual([b!.action, b!.who.transport, b!.result], ['swarm.unlock', 'unix', 'invalid_unlock_key']);
      assert.deepEqual([g!.action, g!.who.transport, g!.result], ['swarm.unlock', 'unix', 'ok']);
      const log = readFileSync(join(daemon.dataRoot, 'audit.log'), 'utf8');
      assert.ok(!log.includes(key.slice('SWMKEY-1-'.length)), 'no unlock key in the audit log');

      assert.equal((await update('', false)).status, 200);
      assert.deepEqual(auditLines().at(-1)!.change, { autolock: 'off' });
    });
  });
});
