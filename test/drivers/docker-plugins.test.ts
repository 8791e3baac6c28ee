/**
 * The Docker plugin bridge against real plugin processes (test/fixtures/plugins/secret-provider.mjs)
 * on unix sockets, TCP and TLS: discovery where dockerd looks, the wire format dockerd uses,
 * activation once, and swarmkit's rules for GetSecret replies.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import dockerPlugins, { createDockerPlugins } from '../../drivers/docker-plugins/index.ts';
import { PluginClient, PLUGIN_ACCEPT } from '../../drivers/docker-plugins/client.ts';
import { findPlugin, parseDirList, searchPath, type SearchPath } from '../../drivers/docker-plugins/discovery.ts';
import { getSecretBody } from '../../drivers/docker-plugins/plugin-driver.ts';
import type { DriverProvider, SecretDriver, SecretRequest } from '../../src/drivers/types.ts';
import { isSecretdError } from '../../src/core/errors.ts';
import { startPlugin, type FixturePlugin } from '../fixtures/plugins/start.ts';

const root = mkdtempSync(join(tmpdir(), 'secretd-plugins-'));
after(() => rmSync(root, { recursive: true, force: true }));
let seq = 0;
const unique = (prefix: string) => `${prefix}${process.pid}x${++seq}`;

/** A fresh set of dockerd-like folders: run/ for sockets, etc/ and lib/ for specs, extra/. */
function folders(): { base: SearchPath; run: string; etc: string; lib: string; extra: string } {
  const dir = join(root, unique('f'));
  const [run, etc, lib, extra] = ['run', 'etc', 'lib', 'extra'].map((d) => join(dir, d)) as [string, string, string, string];
  for (const d of [run, etc, lib, extra]) mkdirSync(d, { recursive: true });
  return { base: { socketDirs: [run], specDirs: [etc, lib] }, run, etc, lib, extra };
}

const servers: net.Server[] = [];
after(() => {
  for (const s of servers) s.close();
});
/** A real listening unix socket at `path` (discovery only looks at the file type). */
async function socketAt(path: string): Promise<void> {
  const s = net.createServer((c) => c.destroy());
  servers.push(s);
  await new Promise<void>((r) => s.listen(path, r));
}

function write(path: string, text: string): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
}

const plugins: FixturePlugin[] = [];
after(async () => {
  for (const p of plugins) await p.stop('SIGKILL');
});
async function plugin(opts: Parameters<typeof startPlugin>[0]): Promise<FixturePlugin> {
  const p = await startPlugin({ log: join(root, `${unique('log')}.jsonl`), ...opts });
  plugins.push(p);
  return p;
}

function provider(base: SearchPath, settings: Record<string, string> = {}, timeoutMs?: number): DriverProvider {
  const p = createDockerPlugins({ base, ...(timeoutMs && { timeoutMs }) });
  const log = { debug() {}, info() {}, warn() {}, error() {} };
  p.init?.({ settings, dataRoot: root, log });
  return p;
}

async function driverFor(p: DriverProvider, name: string): Promise<SecretDriver> {
  const d = await p.resolve(name);
  assert.ok(d, `plugin ${name} resolves`);
  return d;
}

const request = (labels: Record<string, string> = {}, extra: Partial<SecretRequest> = {}): SecretRequest => ({
  SecretName: 'db-password',
  SecretLabels: labels,
  Options: { never: 'sent' },
  ...extra,
});

/** Asserts a domain error with `code` and exactly `message` (a string) or matching it (a RegExp). */
async function rejectsWith(p: Promise<unknown>, code: string, message: string | RegExp): Promise<Error> {
  let caught: unknown;
  await p.then(
    () => assert.fail('expected a rejection'),
    (e) => (caught = e),
  );
  assert.ok(isSecretdError(caught), `a SecretdError, got ${String(caught)}`);
  assert.equal(caught.code, code);
  if (typeof message === 'string') assert.equal(caught.message, message);
  else assert.match(caught.message, message);
  return caught;
}

describe('discovery where dockerd looks', () => {
  test('finds <name>.sock, then <name>/<name>.sock, only when the file is a socket', async () => {
    const f = folders();
    await socketAt(join(f.run, 'flat.sock'));
    mkdirSync(join(f.run, 'nested'));
    await socketAt(join(f.run, 'nested', 'nested.sock'));
    write(join(f.run, 'plainfile.sock'), 'not a socket');
    assert.deepEqual(await findPlugin('flat', f.base), { name: 'flat', addr: `unix://${join(f.run, 'flat.sock')}`, file: join(f.run, 'flat.sock') });
    assert.equal((await findPlugin('nested', f.base))?.addr, `unix://${join(f.run, 'nested', 'nested.sock')}`);
    assert.equal(await findPlugin('plainfile', f.base), undefined);
  });

  test('a socket anywhere beats a spec file; extra folders are searched first for both', async () => {
    const f = folders();
    const path = searchPath([f.extra], f.base);
    await socketAt(join(f.run, 'a.sock'));
    write(join(f.extra, 'a.spec'), 'tcp://127.0.0.1:1\n');
    assert.equal((await findPlugin('a', path))?.addr, `unix://${join(f.run, 'a.sock')}`);
    await socketAt(join(f.extra, 'b.sock'));
    await socketAt(join(f.run, 'b.sock'));
    assert.equal((await findPlugin('b', path))?.addr, `unix://${join(f.extra, 'b.sock')}`);
    write(join(f.extra, 'c.json'), '{"Addr": "tcp://127.0.0.1:3"}');
    write(join(f.etc, 'c.spec'), 'tcp://127.0.0.1:2');
    assert.equal((await findPlugin('c', path))?.addr, 'tcp://127.0.0.1:3');
  });

  test('spec files: .spec before .json, <name>/<name>.spec, /etc before /usr/lib', async () => {
    const f = folders();
    write(join(f.etc, 'd.spec'), '  tcp://127.0.0.1:10  \n');
    write(join(f.etc, 'd.json'), '{"Addr": "tcp://127.0.0.1:11"}');
    write(join(f.etc, 'e', 'e.spec'), 'unix:///run/e.sock');
    write(join(f.etc, 'g.json'), '{"Addr": "tcp://127.0.0.1:12"}');
    write(join(f.lib, 'g.spec'), 'tcp://127.0.0.1:13');
    write(join(f.lib, 'h', 'h.json'), '{"Addr": "tcp://127.0.0.1:14"}');
    assert.deepEqual(await findPlugin('d', f.base), {
      name: 'd',
      addr: 'tcp://127.0.0.1:10',
      file: join(f.etc, 'd.spec'),
      tls: { insecureSkipVerify: true },
    });
    assert.equal((await findPlugin('e', f.base))?.addr, 'unix:///run/e.sock');
    assert.equal((await findPlugin('g', f.base))?.addr, 'tcp://127.0.0.1:12');
    assert.equal((await findPlugin('h', f.base))?.addr, 'tcp://127.0.0.1:14');
  });

  test('a .spec line without a scheme fails as dockerd does: Unknown protocol', async () => {
    const f = folders();
    write(join(f.etc, 'noscheme.spec'), '/run/docker/plugins/x.sock\n');
    await rejectsWith(findPlugin('noscheme', f.base), 'plugin_unusable', 'rpc error: code = Unknown desc = legacy plugin: Unknown protocol');
    write(join(f.etc, 'badjson.json'), '{"Addr": ');
    await rejectsWith(findPlugin('badjson', f.base), 'plugin_unusable', /^rpc error: code = Unknown desc = legacy plugin: .*badjson\.json: /);
  });

  test('.json TLSConfig: without CAFile verification is off; without TLSConfig Go defaults apply; keys match case-insensitively', async () => {
    const f = folders();
    write(join(f.etc, 'insecure.json'), JSON.stringify({ Name: 'x', Addr: 'https://h:1', TLSConfig: { CertFile: '/c.pem', KeyFile: '/k.pem' } }));
    write(join(f.etc, 'verified.json'), JSON.stringify({ Addr: 'https://h:2', TLSConfig: { CAFile: '/ca.pem', InsecureSkipVerify: false } }));
    write(join(f.etc, 'forced.json'), JSON.stringify({ Addr: 'https://h:3', TLSConfig: { CAFile: '/ca.pem', InsecureSkipVerify: true } }));
    write(join(f.etc, 'plain.json'), JSON.stringify({ addr: 'https://h:4' }));
    assert.deepEqual((await findPlugin('insecure', f.base))?.tls, { insecureSkipVerify: true, certFile: '/c.pem', keyFile: '/k.pem' });
    assert.deepEqual((await findPlugin('verified', f.base))?.tls, { insecureSkipVerify: false, caFile: '/ca.pem' });
    assert.deepEqual((await findPlugin('forced', f.base))?.tls, { insecureSkipVerify: true, caFile: '/ca.pem' });
    const plain = await findPlugin('plain', f.base);
    assert.equal(plain?.addr, 'https://h:4');
    assert.equal(plain?.tls, undefined);
  });

  test('unknown names and names that are not file names are not found', async () => {
    const f = folders();
    write(join(f.etc, 'x.spec'), 'tcp://127.0.0.1:1');
    for (const name of ['missing', '../etc/x', 'a/b', '', '.x', 'x'.repeat(200)]) assert.equal(await findPlugin(name, f.base), undefined, name);
  });

  test('parseDirList splits on ":" and drops empty entries', () => {
    assert.deepEqual(parseDirList('/a::/b: '), ['/a', '/b']);
    assert.deepEqual(parseDirList(undefined), []);
  });
});

describe('the docker-plugins provider against a real plugin', () => {
  test('matches the provider interface', () => {
    assert.equal(dockerPlugins.kind, 'provider');
    assert.equal(dockerPlugins.name, 'docker-plugins');
    assert.equal(typeof dockerPlugins.resolve, 'function');
    assert.equal(typeof dockerPlugins.init, 'function');
  });

  test('activates once per process over a unix socket, with the headers dockerd v25 sends', async () => {
    const f = folders();
    const p = await plugin({ unix: join(f.run, 'once.sock') });
    const prov = provider(f.base);
    const [d1, d2] = await Promise.all([prov.resolve('once'), prov.resolve('once')]);
    const d3 = await prov.resolve('once');
    assert.ok(d1 && d1 === d2 && d2 === d3);
    assert.equal(d1.kind, 'secret');
    assert.equal(d1.name, 'once');
    await d1.get(request());
    const reqs = p.requests();
    assert.deepEqual(
      reqs.map((r) => r.path),
      ['/Plugin.Activate', '/SecretProvider.GetSecret'],
    );
    const act = reqs[0]!;
    assert.equal(act.method, 'POST');
    assert.equal(act.httpVersion, '1.1');
    assert.equal(act.headers.accept, PLUGIN_ACCEPT);
    assert.equal(act.headers.host, 'plugin.moby.localhost');
    assert.equal(act.headers['content-length'], '0');
    assert.equal(act.headers['content-type'], undefined);
    assert.equal(act.body, '');
  });

  test('get sends the request fields but never Options, omitting empty ones as Go does, and decodes the value', async () => {
    const f = folders();
    const p = await plugin({ unix: join(f.run, 'fields.sock') });
    const d = await driverFor(provider(f.base), 'fields');
    const full = request(
      { env: 'prod' },
      {
        ServiceID: 'svc1',
        ServiceName: 'web',
        ServiceLabels: {},
        ServiceHostname: '',
        TaskID: 't1',
        TaskName: 'web.1.t1',
        TaskImage: 'nginx:latest',
        NodeID: 'n1',
        ServiceEndpointSpec: { Mode: 1, Ports: [{ Protocol: 0, TargetPort: 80, PublishedPort: 8080, PublishMode: 0 }] },
      },
    );
    const got = await d.get(full);
    assert.equal(Buffer.from(got.value).toString(), 'value-of-db-password@web.1.t1');
    assert.equal(got.doNotReuse, undefined);
    const sent = p.requests().at(-1)!;
    assert.equal(sent.headers['content-type'], undefined);
    assert.ok(sent.body.endsWith('}\n'), 'a JSON body with Go encoder newline');
    assert.equal(
      sent.body,
      '{"SecretName":"db-password","SecretLabels":{"env":"prod"},"ServiceID":"svc1","ServiceName":"web","TaskID":"t1",' +
        '"TaskName":"web.1.t1","TaskImage":"nginx:latest","NodeID":"n1","ServiceEndpointSpec":{"Mode":1,"Ports":[{"TargetPort":80,"PublishedPort":8080}]}}\n',
    );
    assert.deepEqual(getSecretBody({ SecretName: 's', SecretLabels: {}, Options: { a: 'b' } }), { SecretName: 's' });
  });

  test('DoNotReuse is passed through', async () => {
    const f = folders();
    await plugin({ unix: join(f.run, 'dnr.sock') });
    const d = await driverFor(provider(f.base), 'dnr');
    const got = await d.get(request({ 'fixture.do-not-reuse': 'true', 'fixture.value': 'per-task' }));
    assert.equal(Buffer.from(got.value).toString(), 'per-task');
    assert.equal(got.doNotReuse, true);
  });

  test('a plugin without secretprovider in Implements is unusable, with dockerd v25 wording', async () => {
    const f = folders();
    await plugin({ unix: join(f.run, 'volumes.sock'), implements: ['VolumeDriver'] });
    const prov = provider(f.base);
    const msg =
      'rpc error: code = Unknown desc = legacy plugin: Plugin does not implement the requested driver: ' +
      'plugin="volumes", requested implementation="secretprovider"';
    await rejectsWith(Promise.resolve(prov.resolve('volumes')), 'plugin_unusable', msg);
    await rejectsWith(Promise.resolve(prov.resolve('volumes')), 'plugin_unusable', msg);
  });

  test('an unknown plugin name resolves to undefined', async () => {
    assert.equal(await provider(folders().base).resolve('nobody-home'), undefined);
  });

  test('Err fails the get: a 500 as dockerd words it, and an Err in a 200 reply', async () => {
    const f = folders();
    await plugin({ unix: join(f.run, 'errs.sock') });
    const d = await driverFor(provider(f.base), 'errs');
    await rejectsWith(
      Promise.resolve(d.get(request({ 'fixture.error': 'vault sealed' }))),
      'driver_failed',
      'secret driver errs: /SecretProvider.GetSecret: vault sealed',
    );
    await rejectsWith(Promise.resolve(d.get(request({ 'fixture.error-200': 'no such path' }))), 'driver_failed', 'secret driver errs: no such path');
    await rejectsWith(
      Promise.resolve(d.get(request({ 'fixture.status': '404' }))),
      'driver_failed',
      'secret driver errs: /SecretProvider.GetSecret: fixture status 404',
    );
    await rejectsWith(Promise.resolve(d.get(request({ 'fixture.raw': 'not json' }))), 'driver_failed', /the reply is not JSON/);
    await rejectsWith(Promise.resolve(d.get(request({ 'fixture.raw': '{"Value":"-_-_"}' }))), 'driver_failed', /not standard base64/);
  });

  test('values must be 1 to 511999 bytes, and errors never carry the value', async () => {
    const f = folders();
    await plugin({ unix: join(f.run, 'sizes.sock') });
    const d = await driverFor(provider(f.base), 'sizes');
    assert.equal((await d.get(request({ 'fixture.size': '511999' }))).value.length, 511_999);
    assert.equal((await d.get(request({ 'fixture.size': '1' }))).value.length, 1);
    await rejectsWith(
      Promise.resolve(d.get(request({ 'fixture.size': '0' }))),
      'driver_failed',
      /returned 0 bytes; a secret value must be larger than 0 and less than 512000 bytes/,
    );
    const e = await rejectsWith(Promise.resolve(d.get(request({ 'fixture.size': '512000' }))), 'driver_failed', /returned 512000 bytes/);
    assert.ok(!e.message.includes('xxxx') && !e.message.includes('eHh4'), 'no value bytes, plain or base64, in the message');
  });

  test('a reply above the size cap is refused', async () => {
    const f = folders();
    const p = await plugin({ unix: join(f.run, 'cap.sock') });
    const client = await PluginClient.create({ name: 'cap', addr: p.addr, file: '' }, { maxResponseBytes: 1000 });
    await assert.rejects(client.call('/SecretProvider.GetSecret', { SecretLabels: { 'fixture.size': '4000' } }), /reply larger than 1000 bytes/);
  });

  test('a plugin that hangs fails the call after the timeout', async () => {
    const f = folders();
    await plugin({ unix: join(f.run, 'hangs.sock') });
    const d = await driverFor(provider(f.base, { timeout: '400' }), 'hangs');
    const t0 = Date.now();
    await rejectsWith(
      Promise.resolve(d.get(request({ 'fixture.hang': 'true' }))),
      'driver_failed',
      'secret driver hangs: Post "http://plugin.moby.localhost/SecretProvider.GetSecret": timed out after 400 ms',
    );
    assert.ok(Date.now() - t0 < 3000);
  });

  test('a plugin that dies: the call in flight fails, then the next says the socket is gone', async () => {
    const f = folders();
    const sock = join(f.run, 'dies.sock');
    const p = await plugin({ unix: sock });
    const d = await driverFor(provider(f.base), 'dies');
    await rejectsWith(
      Promise.resolve(d.get(request({ 'fixture.exit': 'true' }))),
      'driver_failed',
      /^secret driver dies: (Post .*: EOF|\/SecretProvider\.GetSecret: unexpected EOF)$/,
    );
    await p.stop();
    await rejectsWith(
      Promise.resolve(d.get(request())),
      'driver_failed',
      `secret driver dies: Post "http://plugin.moby.localhost/SecretProvider.GetSecret": dial unix ${sock}: connect: no such file or directory`,
    );
  });

  test("a stale socket (plugin killed) fails activation at once, not after dockerd's retries", async () => {
    const f = folders();
    const sock = join(f.run, 'stale.sock');
    const p = await plugin({ unix: sock });
    await p.stop('SIGKILL');
    const t0 = Date.now();
    await rejectsWith(
      Promise.resolve(provider(f.base).resolve('stale')),
      'plugin_unusable',
      `rpc error: code = Unknown desc = legacy plugin: Post "http://plugin.moby.localhost/Plugin.Activate": dial unix ${sock}: connect: connection refused`,
    );
    assert.ok(Date.now() - t0 < 2000);
  });

  test('extra folders from the dirs setting are searched', async () => {
    const f = folders();
    const other = join(f.extra, 'more');
    mkdirSync(other);
    await plugin({ unix: join(other, 'extra.sock') });
    assert.equal(await provider(f.base).resolve('extra'), undefined);
    assert.ok(await provider(f.base, { dirs: `${f.extra}:${other}` }).resolve('extra'));
  });
});

describe('the docker-plugins provider over TCP and TLS', () => {
  const certs = join(root, 'certs');
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: certs, stdio: 'pipe' });

  before(() => {
    mkdirSync(certs);
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    for (const ca of ['ca', 'other-ca']) openssl('req', '-x509', ...ec, '-keyout', `${ca}.key`, '-out', `${ca}.pem`, '-days', '1', '-subj', `/CN=${ca}`);
    writeFileSync(join(certs, 'server.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
    writeFileSync(join(certs, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
    for (const who of ['server', 'client']) {
      openssl('req', ...ec, '-keyout', `${who}.key`, '-out', `${who}.csr`, '-subj', `/CN=${who === 'server' ? 'localhost' : 'secretd'}`);
      openssl(
        'x509',
        '-req',
        '-in',
        `${who}.csr`,
        '-CA',
        'ca.pem',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-out',
        `${who}.pem`,
        '-days',
        '1',
        '-extfile',
        `${who}.ext`,
      );
    }
  });
  const c = (f: string) => join(certs, f);
  const portOf = (addr: string) => addr.slice(addr.lastIndexOf(':') + 1);

  test('tcp:// from a .spec file, with Host set to the address', async () => {
    const f = folders();
    const p = await plugin({ tcp: '127.0.0.1:0' });
    write(join(f.etc, 'viatcp.spec'), `${p.addr}\n`);
    const d = await driverFor(provider(f.base), 'viatcp');
    assert.equal(Buffer.from((await d.get(request())).value).toString(), 'value-of-db-password');
    const act = p.requests()[0]!;
    assert.equal(act.path, '/Plugin.Activate');
    assert.equal(act.headers.host, `127.0.0.1:${portOf(p.addr)}`);
    assert.equal(act.headers.accept, PLUGIN_ACCEPT);
  });

  test('https:// from a .json file: the CA verifies the plugin, and the client certificate is shown', async () => {
    const f = folders();
    const p = await plugin({ tcp: '127.0.0.1:0', tls: { cert: c('server.pem'), key: c('server.key'), ca: c('ca.pem') } });
    const addr = `https://localhost:${portOf(p.addr)}`;
    write(
      join(f.etc, 'mtls.json'),
      JSON.stringify({ Name: 'mtls', Addr: addr, TLSConfig: { CAFile: c('ca.pem'), CertFile: c('client.pem'), KeyFile: c('client.key') } }),
    );
    const d = await driverFor(provider(f.base), 'mtls');
    assert.equal(Buffer.from((await d.get(request())).value).toString(), 'value-of-db-password');
    assert.equal(p.requests()[0]!.headers.host, `localhost:${portOf(p.addr)}`);
  });

  test('https:// with a CAFile that did not sign the plugin certificate fails activation', async () => {
    const f = folders();
    const p = await plugin({ tcp: '127.0.0.1:0', tls: { cert: c('server.pem'), key: c('server.key') } });
    write(join(f.etc, 'wrongca.json'), JSON.stringify({ Addr: `https://localhost:${portOf(p.addr)}`, TLSConfig: { CAFile: c('other-ca.pem') } }));
    await rejectsWith(
      Promise.resolve(provider(f.base).resolve('wrongca')),
      'plugin_unusable',
      /^rpc error: code = Unknown desc = legacy plugin: Post "https:\/\/localhost:\d+\/Plugin\.Activate": .*certificate/,
    );
    assert.equal(p.requests().length, 0);
  });

  test('https:// with a TLSConfig but no CAFile skips verification, as dockerd does', async () => {
    const f = folders();
    const p = await plugin({ tcp: '127.0.0.1:0', tls: { cert: c('server.pem'), key: c('server.key') } });
    write(join(f.etc, 'noca.json'), JSON.stringify({ Addr: `https://127.0.0.1:${portOf(p.addr)}`, TLSConfig: {} }));
    assert.ok(await provider(f.base).resolve('noca'));
    write(join(f.etc, 'notls.json'), JSON.stringify({ Addr: `https://127.0.0.1:${portOf(p.addr)}` }));
    await rejectsWith(Promise.resolve(provider(f.base).resolve('notls')), 'plugin_unusable', /certificate/);
  });
});
