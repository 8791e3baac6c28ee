/**
 * TCP listeners over TLS, as dockerd serves them: the docker CLI with DOCKER_TLS_VERIFY and
 * DOCKER_CERT_PATH, dockerode and `secretd get` over TLS; clients without a certificate the CA
 * signed are refused; TCP off loopback needs --tlsverify or the loudly named flag; bad TLS files
 * stop the start with a message naming them. Certificates come from the openssl CLI.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Docker from 'dockerode';
import { INSECURE_LISTEN_FLAG } from '../../src/daemon/flags.ts';
import { makeTestCerts, type TestCerts } from '../helpers/certs.ts';
import { PROJECT_ROOT, startDaemon, type Daemon } from '../helpers/daemon.ts';
import { dockerCliMissing } from '../helpers/tools.ts';

const scratch = mkdtempSync(join(tmpdir(), 'secretd-tls-'));
const certs: TestCerts = makeTestCerts();
const daemons: Daemon[] = [];
after(async () => {
  for (const d of daemons) await d.dispose();
  rmSync(scratch, { recursive: true, force: true });
  rmSync(certs.dir, { recursive: true, force: true });
});

async function start(args: string[]): Promise<Daemon> {
  const d = await startDaemon({ args });
  daemons.push(d);
  return d;
}

/** The port of the daemon's tcp:// listener, from the line it prints. */
function tcpPort(d: Daemon): number {
  const m = /listening on .*tcp:\/\/[^:]+:(\d+)/.exec(d.logs);
  assert.ok(m, d.logs);
  return Number(m[1]);
}

function npmStart(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync('npm', ['start', '--silent', '--', '--data-root', mkdtempSync(join(scratch, 'data-')), ...args], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
}

/** The environment the docker CLI reads, with nothing inherited from the user's own docker setup. */
function dockerEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_CONFIG: join(scratch, 'docker-config') };
  for (const name of ['DOCKER_HOST', 'DOCKER_CONTEXT', 'DOCKER_API_VERSION', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH', 'DOCKER_TLS']) delete env[name];
  return { ...env, ...extra };
}

function docker(env: NodeJS.ProcessEnv, args: string[], input?: string) {
  const res = spawnSync('docker', args, { env: dockerEnv(env), input, encoding: 'utf8', timeout: 30_000 });
  assert.equal(res.error, undefined, String(res.error));
  return res;
}

/** `secretd …` from the checkout, as `npx secretd …` runs it. */
function secretd(args: string[], env: NodeJS.ProcessEnv) {
  return spawnSync('node', ['bin/secretd.mjs', ...args], { cwd: PROJECT_ROOT, env: dockerEnv(env), encoding: 'utf8', timeout: 60_000 });
}

/** One HTTPS GET /_ping with the given client settings: the status, or the error that stopped it. */
function ping(port: number, opts: https.RequestOptions): Promise<number | Error> {
  return new Promise((resolve) => {
    const req = https.request({ host: '127.0.0.1', port, path: '/_ping', agent: false, minVersion: 'TLSv1.2', ...opts }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', resolve);
    req.end();
  });
}

function plainPing(port: number): Promise<number | Error> {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/_ping', agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', resolve);
    req.end();
  });
}

const pem = (file: string) => readFileSync(file);
const skipCli = dockerCliMissing();

describe('--tlsverify', () => {
  let d: Daemon;
  let port: number;
  let tcpHost: string;
  const verified = () => ({ DOCKER_HOST: tcpHost, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certs.goodClient });

  before(async () => {
    d = await start([
      '-H',
      'tcp://127.0.0.1:0',
      '--tlsverify',
      '--tlscacert',
      certs.ca,
      '--tlscert',
      certs.serverCert,
      '--tlskey',
      certs.serverKey,
      '--delivery',
    ]);
    port = tcpPort(d);
    tcpHost = `tcp://127.0.0.1:${port}`;
  });

  test('prints the DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH line; the unix socket stays plain', async () => {
    assert.match(d.logs, new RegExp(`export DOCKER_HOST=tcp://127\\.0\\.0\\.1:${port} DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=DIR`));
    assert.equal((await d.request({ path: '/_ping' })).status, 200);
  });

  test('the docker CLI with DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH creates, lists, inspects and removes secrets', { skip: skipCli }, () => {
    const created = docker(verified(), ['secret', 'create', '--label', 'via=tls', 'tls_cli', '-'], 's3cr3t');
    assert.equal(created.status, 0, created.stderr);
    const id = created.stdout.trim();
    assert.match(id, /^[a-z0-9]{25}$/);
    const ls = docker(verified(), ['secret', 'ls', '--filter', 'label=via=tls', '--format', '{{.ID}} {{.Name}}']);
    assert.equal(ls.status, 0, ls.stderr);
    assert.equal(ls.stdout.trim(), `${id} tls_cli`);
    const inspect = docker(verified(), ['secret', 'inspect', '--format', '{{.Spec.Name}} {{.Spec.Labels.via}}', 'tls_cli']);
    assert.equal(inspect.status, 0, inspect.stderr);
    assert.equal(inspect.stdout.trim(), 'tls_cli tls');
    const rm = docker(verified(), ['secret', 'rm', 'tls_cli']);
    assert.equal(rm.status, 0, rm.stderr);
    assert.equal(docker(verified(), ['secret', 'inspect', 'tls_cli']).status, 1);
  });

  test('the docker CLI without a client certificate, or without TLS, is refused', { skip: skipCli }, () => {
    const noCert = docker({ DOCKER_HOST: tcpHost, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certs.caOnly }, ['secret', 'ls']);
    assert.notEqual(noCert.status, 0);
    assert.match(noCert.stderr, /certificate required/);
    const stranger = docker({ DOCKER_HOST: tcpHost, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certs.strangerClient }, ['secret', 'ls']);
    assert.notEqual(stranger.status, 0);
    const plain = docker({ DOCKER_HOST: tcpHost }, ['secret', 'ls']);
    assert.notEqual(plain.status, 0);
  });

  test('a client without a certificate, with one from another CA, or speaking plain HTTP gets no answer', async () => {
    const good = { ca: pem(certs.ca), cert: pem(join(certs.goodClient, 'cert.pem')), key: pem(join(certs.goodClient, 'key.pem')) };
    assert.equal(await ping(port, good), 200, 'a certificate the CA signed is let in');
    const none = await ping(port, { ca: pem(certs.ca) });
    assert.ok(none instanceof Error, `no certificate: ${String(none)}`);
    const stranger = await ping(port, {
      ca: pem(certs.ca),
      cert: pem(join(certs.strangerClient, 'cert.pem')),
      key: pem(join(certs.strangerClient, 'key.pem')),
    });
    assert.ok(stranger instanceof Error, `another CA: ${String(stranger)}`);
    const plain = await plainPing(port);
    assert.ok(plain instanceof Error, `plain HTTP: ${String(plain)}`);
    assert.match(d.logs, /"err":"ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE","msg":"TLS handshake refused"/);
    assert.match(d.logs, /"msg":"TLS handshake refused"/);
  });

  test("the request log names the client certificate's subject", async () => {
    const opts = { ca: pem(certs.ca), cert: pem(join(certs.goodClient, 'cert.pem')), key: pem(join(certs.goodClient, 'key.pem')) };
    assert.equal(await ping(port, opts), 200);
    assert.match(d.logs, /"path":"\/_ping","status":200,"ms":[\d.]+,"peer":"O=secretd-tests, CN=alice"/);
  });

  test('dockerode over TLS (host, port, ca, cert, key, protocol https)', async () => {
    const client = new Docker({
      host: '127.0.0.1',
      port,
      protocol: 'https',
      ca: pem(certs.ca),
      cert: pem(join(certs.goodClient, 'cert.pem')),
      key: pem(join(certs.goodClient, 'key.pem')),
    });
    const created = (await client.createSecret({ Name: 'tls_dockerode', Data: Buffer.from('v').toString('base64') })) as unknown as { id: string };
    const secret = client.getSecret(created.id);
    const info = (await secret.inspect()) as unknown as { Spec: { Name: string } };
    assert.equal(info.Spec.Name, 'tls_dockerode');
    const listed = (await client.listSecrets({ filters: { name: ['tls_dockerode'] } })) as unknown as { ID: string }[];
    assert.deepEqual(
      listed.map((s) => s.ID),
      [created.id],
    );
    await secret.remove();
    const without = new Docker({ host: '127.0.0.1', port, protocol: 'https', ca: pem(certs.ca) });
    await assert.rejects(without.listSecrets());
  });

  test('secretd get with a delivery token works over TLS, and says what is wrong without it', async () => {
    const created = await d.request({ method: 'POST', path: '/secrets/create', body: { Name: 'app.tls', Data: Buffer.from('over tls').toString('base64') } });
    assert.equal(created.status, 201, created.text);
    const token = secretd(['token', 'create', '--allow', 'app.*', '-H', d.host], {});
    assert.equal(token.status, 0, token.stderr);
    const get = secretd(['get', '--token', token.stdout.trim(), 'app.tls'], verified());
    assert.equal(get.status, 0, get.stderr);
    assert.equal(get.stdout, 'over tls');
    const plain = secretd(['get', '--token', token.stdout.trim(), 'app.tls'], { DOCKER_HOST: tcpHost });
    assert.equal(plain.status, 1);
    assert.match(plain.stderr, /Is it a TLS daemon\? Then set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH/);
    const noCert = secretd(['get', '--token', token.stdout.trim(), 'app.tls'], {
      DOCKER_HOST: tcpHost,
      DOCKER_TLS_VERIFY: '1',
      DOCKER_CERT_PATH: certs.caOnly,
    });
    assert.equal(noCert.status, 1);
    assert.match(noCert.stderr, /TLS connection to tcp:\/\/127\.0\.0\.1:\d+ failed/);
    const noCa = secretd(['get', '--token', token.stdout.trim(), 'app.tls'], { DOCKER_HOST: tcpHost, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: scratch });
    assert.equal(noCa.status, 1);
    assert.match(noCa.stderr, new RegExp(`cannot read the CA certificate ${join(scratch, 'ca.pem')} \\(DOCKER_CERT_PATH\\): ENOENT`));
  });
});

describe('--tls alone', () => {
  test('encrypts without asking for a client certificate; the server is still checked against the CA', async (t) => {
    const d = await start(['-H', 'tcp://127.0.0.1:0', '--tls', '--tlscert', certs.serverCert, '--tlskey', certs.serverKey]);
    const port = tcpPort(d);
    assert.equal(await ping(port, { ca: pem(certs.ca) }), 200);
    assert.ok((await plainPing(port)) instanceof Error, 'plain HTTP gets no answer');
    if (skipCli) {
      t.diagnostic(`docker CLI part skipped: ${skipCli}`);
      return d.stop().then(() => undefined);
    }
    const ls = docker({ DOCKER_HOST: `tcp://127.0.0.1:${port}`, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certs.caOnly }, ['secret', 'ls', '-q']);
    assert.equal(ls.status, 0, ls.stderr);
    const insecure = docker({ DOCKER_HOST: `tcp://127.0.0.1:${port}`, DOCKER_TLS: '1', DOCKER_CERT_PATH: certs.caOnly }, ['secret', 'ls', '-q']);
    assert.equal(insecure.status, 0, insecure.stderr);
    await d.stop();
  });
});

describe('listening off loopback', () => {
  test('without TLS, or with --tls alone, the start is refused with a message naming the loud flag', () => {
    const plain = npmStart(['-H', 'tcp://0.0.0.0:0']);
    assert.equal(plain.status, 1);
    assert.match(
      plain.stderr,
      /refusing to listen on tcp:\/\/0\.0\.0\.0:0: the Engine API gives full control of every secret, and this listener has no TLS; use --tlsverify/,
    );
    assert.ok(plain.stderr.includes(`--${INSECURE_LISTEN_FLAG}`), plain.stderr);
    const tlsOnly = npmStart(['-H', 'tcp://0.0.0.0:0', '--tls', '--tlscert', certs.serverCert, '--tlskey', certs.serverKey]);
    assert.equal(tlsOnly.status, 1);
    assert.match(tlsOnly.stderr, /refusing to listen on tcp:\/\/0\.0\.0\.0:0: .*--tls without --tlsverify encrypts but lets in any client/);
  });

  test('with --tlsverify it starts, and refuses clients without a certificate', async () => {
    const d = await start(['-H', 'tcp://0.0.0.0:0', '--tlsverify', '--tlscacert', certs.ca, '--tlscert', certs.serverCert, '--tlskey', certs.serverKey]);
    const port = tcpPort(d);
    const opts = { ca: pem(certs.ca), cert: pem(join(certs.goodClient, 'cert.pem')), key: pem(join(certs.goodClient, 'key.pem')) };
    assert.equal(await ping(port, opts), 200);
    assert.ok((await ping(port, { ca: pem(certs.ca) })) instanceof Error);
    assert.doesNotMatch(d.logs, /INSECURE/);
    await d.stop();
  });

  test('the loud flag lets a plain listener start, with a loud warning in the log', async () => {
    const d = await start(['-H', 'tcp://0.0.0.0:0', `--${INSECURE_LISTEN_FLAG}`]);
    try {
      assert.match(
        d.logs,
        new RegExp(
          /"level":40,.*"host":"tcp:\/\/0\.0\.0\.0:0".*"msg":"INSECURE: tcp:\/\/0\.0\.0\.0:0 lets in any client that reaches it, /.source +
            /without a certificate: whoever can connect can read and change every secret/.source,
        ),
      );
      assert.equal(await plainPing(tcpPort(d)), 200);
    } finally {
      await d.stop(); // not a second longer than needed on every interface
    }
  });
});

describe('TLS files', () => {
  test('a missing, malformed or mismatched file stops the start with a message naming it', () => {
    const missing = npmStart([
      '-H',
      'tcp://127.0.0.1:0',
      '--tlsverify',
      '--tlscacert',
      certs.ca,
      '--tlscert',
      certs.serverCert,
      '--tlskey',
      join(scratch, 'nope.pem'),
    ]);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, new RegExp(`secretd: --tlskey ${join(scratch, 'nope.pem')}: cannot read it \\(no such file\\)`));
    const garbage = join(scratch, 'garbage.pem');
    writeFileSync(garbage, 'not a certificate\n');
    const badCa = npmStart(['-H', 'tcp://127.0.0.1:0', '--tlsverify', '--tlscacert', garbage, '--tlscert', certs.serverCert, '--tlskey', certs.serverKey]);
    assert.equal(badCa.status, 1);
    assert.match(badCa.stderr, new RegExp(`--tlscacert ${garbage}: not a PEM certificate`));
    const mismatched = npmStart(['-H', 'tcp://127.0.0.1:0', '--tls', '--tlscert', certs.serverCert, '--tlskey', join(certs.goodClient, 'key.pem')]);
    assert.equal(mismatched.status, 1);
    assert.match(mismatched.stderr, /--tlscert .*server-cert\.pem with --tlskey .*key\.pem: .*key values mismatch/);
  });

  test('without file flags they are ca.pem, cert.pem and key.pem in $DOCKER_CERT_PATH, as dockerd looks for them', () => {
    const empty = mkdtempSync(join(scratch, 'certs-'));
    const res = npmStart(['-H', 'tcp://127.0.0.1:0', '--tlsverify'], { DOCKER_CERT_PATH: empty });
    assert.equal(res.status, 1);
    assert.match(res.stderr, new RegExp(`--tlscert ${join(empty, 'cert.pem')}: cannot read it \\(no such file\\)`));
    const stray = npmStart(['-H', 'tcp://127.0.0.1:0', '--tlscert', certs.serverCert]);
    assert.equal(stray.status, 1);
    assert.match(stray.stderr, /--tlscacert\/--tlscert\/--tlskey need --tls or --tlsverify/);
  });
});

describe('the web console over --tlsverify', () => {
  /** One HTTPS request with the good client's certificate; any Host header. */
  function console_(port: number, path: string, opts: { method?: string; host: string; cookie?: string; origin?: string; form?: string }) {
    return new Promise<{ status: number; headers: Record<string, unknown>; text: string }>((resolve, reject) => {
      const headers: Record<string, string> = { Host: opts.host };
      if (opts.cookie) headers.Cookie = opts.cookie;
      if (opts.origin) headers.Origin = opts.origin;
      if (opts.form) headers['Content-Type'] = 'application/x-www-form-urlencoded';
      const req = https.request(
        {
          host: '127.0.0.1',
          servername: 'localhost',
          port,
          path,
          method: opts.method ?? 'GET',
          agent: false,
          headers,
          ca: pem(certs.ca),
          cert: pem(join(certs.goodClient, 'cert.pem')),
          key: pem(join(certs.goodClient, 'key.pem')),
        },
        (res) => {
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
        },
      );
      req.on('error', reject);
      req.end(opts.form);
    });
  }

  test('serves off loopback with client certificates: any Host name, https origins, no value in the page', async () => {
    const d = await start([
      '-H',
      'tcp://0.0.0.0:0',
      '--ui',
      '--tlsverify',
      '--tlscacert',
      certs.ca,
      '--tlscert',
      certs.serverCert,
      '--tlskey',
      certs.serverKey,
    ]);
    assert.match(d.logs, /Web console: https:\/\/0\.0\.0\.0:\d+\/ui/);
    const port = tcpPort(d);
    const host = `secretd.example:${port}`;
    const page = await console_(port, '/ui/new', { host });
    assert.equal(page.status, 200, page.text);
    const cookie = String((page.headers['set-cookie'] as string[])[0]).split(';')[0]!;
    const csrf = /name="csrf" value="([^"]+)"/.exec(page.text)?.[1];
    assert.ok(csrf);
    const form = new URLSearchParams({ csrf, kind: 'text', name: 'console_tls', value: 'over-tls-7f1e', labels: '' }).toString();
    const http_ = await console_(port, '/ui/new', { method: 'POST', host, cookie, origin: `http://${host}`, form });
    assert.equal(http_.status, 403, 'an http:// origin is another origin than this https page');
    const created = await console_(port, '/ui/new', { method: 'POST', host, cookie, origin: `https://${host}`, form });
    assert.equal(created.status, 303, created.text);
    const detail = await console_(port, String(created.headers.location), { host, cookie });
    assert.equal(detail.status, 200);
    assert.match(detail.text, /console_tls/);
    assert.ok(!detail.text.includes('over-tls-7f1e'));
    // The console's in-process create is audited with the browser's connection and certificate.
    const audit = readFileSync(join(d.dataRoot, 'audit.log'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const line = audit.find((l) => l.action === 'secret.create' && l.secret?.name === 'console_tls');
    assert.deepEqual(
      { ...line.who, address: undefined, port: undefined },
      { transport: 'tls', address: undefined, port: undefined, certSubject: 'O=secretd-tests, CN=alice', via: 'console' },
    );
    assert.equal(line.who.address, '127.0.0.1');
  });

  test('--ui off loopback without --tlsverify is refused at start', () => {
    const r = npmStart(['-H', 'tcp://0.0.0.0:0', '--ui', '--tls', '--tlscert', certs.serverCert, '--tlskey', certs.serverKey]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /--ui with -H tcp:\/\/0\.0\.0\.0:0: the console is served off loopback only with --tlsverify/);
  });
});
