/**
 * The plugin socket (--plugin-listen, --plugin-allow) spoken to directly, as dockerd speaks to
 * it: POST /<Method> with JSON over the unix socket. Activation, the allow-list and its refusals,
 * no name oracle, DoNotReuse through a driver, bad input, and the audit line of each GetSecret.
 * (The same daemon driven by a real dockerd is plugin-docker.test.ts.)
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { docker, ok } from '../helpers/cli.ts';
import { startDaemon, type Daemon } from '../helpers/daemon.ts';
import { request, type RawResponse } from '../helpers/http.ts';
import { dockerCliMissing } from '../helpers/tools.ts';
import { startPlugin, type FixturePlugin } from '../fixtures/plugins/start.ts';

const scratch = mkdtempSync(join(tmpdir(), 'secretd-plugin-protocol-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
const unique = (prefix: string) => `${prefix}-${randomBytes(6).toString('hex')}`;
const cliMissing = dockerCliMissing();

function call(socket: string, method: string, body?: unknown, httpMethod = 'POST'): Promise<RawResponse> {
  return request(`unix://${socket}`, { method: httpMethod, path: `/${method}`, ...(body === undefined ? {} : { body }) });
}

interface AuditLine {
  who: { transport: string; socket?: string };
  action: string;
  secret: { id?: string; name?: string; ref?: string };
  task?: string;
  service?: string;
  node?: string;
  volume?: string;
  result: string;
}
const auditOf = (d: Daemon): AuditLine[] =>
  readFileSync(join(d.dataRoot, 'audit.log'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as AuditLine);

describe('--plugin-listen without --plugin-allow', { skip: cliMissing }, () => {
  let daemon: Daemon;
  const socket = join(scratch, 'closed', `${unique('closed')}.sock`);
  before(async () => {
    daemon = await startDaemon({ args: ['--plugin-listen', socket] });
  });
  after(() => daemon?.dispose());

  test('every call, Activate included, is refused with a message naming --plugin-allow, and nothing is resolved', async () => {
    ok(docker(daemon.host, ['secret', 'create', 'app.closed', '-'], { input: 'closed value' }), 'create');
    for (const [method, body] of [
      ['Plugin.Activate', undefined],
      ['SecretProvider.GetSecret', { SecretName: 'app.closed' }],
      ['VolumeDriver.Create', { Name: 'v', Opts: { secret: 'app.closed' } }],
      ['VolumeDriver.Capabilities', {}],
    ] as const) {
      const r = await call(socket, method, body);
      assert.equal(r.status, 403, method);
      assert.match(r.json.Err, /--plugin-allow PATTERN/, method);
      assert.ok(!r.text.includes('closed value'));
    }
    assert.ok(!auditOf(daemon).some((l) => l.action === 'secret.deliver'), 'nothing was resolved');
    assert.match(daemon.logs, /--plugin-listen without --plugin-allow/);
  });
});

describe('--plugin-listen with --plugin-allow', { skip: cliMissing }, () => {
  let daemon: Daemon;
  let fixture: FixturePlugin;
  const fixtureName = unique('fx');
  const pluginDir = join(scratch, 'plugins');
  const socket = join(scratch, 'open', `${unique('secretd')}.sock`);
  before(async () => {
    mkdirSync(pluginDir, { recursive: true });
    fixture = await startPlugin({ unix: join(pluginDir, `${fixtureName}.sock`) });
    daemon = await startDaemon({ args: ['--plugin-listen', socket, '--plugin-allow', 'app.*', '--plugin-allow', 'shared', '--plugin-dir', pluginDir] });
    ok(docker(daemon.host, ['secret', 'create', 'app.plain', '-'], { input: 'plain value' }), 'create');
    ok(docker(daemon.host, ['secret', 'create', 'outside', '-'], { input: 'outside value' }), 'create');
  });
  after(async () => {
    await daemon?.dispose();
    await fixture?.stop();
  });

  test('the socket is 0600 and Activate lists secretprovider and VolumeDriver, as JSON', async () => {
    const st = statSync(socket);
    assert.ok(st.isSocket());
    assert.equal(st.mode & 0o777, 0o600);
    const r = await call(socket, 'Plugin.Activate');
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'application/vnd.docker.plugins.v1+json');
    assert.deepEqual(r.json, { Implements: ['secretprovider', 'VolumeDriver'] });
    assert.match(daemon.logs, new RegExp(`Docker plugin "${socket.split('/').pop()!.replace('.sock', '')}"`));
  });

  test('GetSecret answers the value of the secret of the same name, as base64 with DoNotReuse false', async () => {
    const r = await call(socket, 'SecretProvider.GetSecret', { SecretName: 'app.plain', ServiceName: 'web', TaskID: 'task1', NodeID: 'node1' });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { Value: Buffer.from('plain value').toString('base64'), DoNotReuse: false });
  });

  test('the label com.secretd.secret names the secretd secret; the allow-list applies to that name', async () => {
    const viaLabel = await call(socket, 'SecretProvider.GetSecret', { SecretName: 'whatever', SecretLabels: { 'com.secretd.secret': 'app.plain' } });
    assert.equal(Buffer.from(viaLabel.json.Value, 'base64').toString(), 'plain value');
    const escaped = await call(socket, 'SecretProvider.GetSecret', { SecretName: 'app.plain', SecretLabels: { 'com.secretd.secret': 'outside' } });
    assert.deepEqual(escaped.json, { Err: 'secret outside not found' });
  });

  test('a secret outside --plugin-allow is answered exactly as a missing one (no name oracle)', async () => {
    const outside = await call(socket, 'SecretProvider.GetSecret', { SecretName: 'outside' });
    const missing = await call(socket, 'SecretProvider.GetSecret', { SecretName: 'app.missing' });
    assert.equal(outside.status, missing.status);
    assert.deepEqual(outside.json, { Err: 'secret outside not found' });
    assert.deepEqual(missing.json, { Err: 'secret app.missing not found' });
    assert.equal(outside.text.replace('outside', 'X'), missing.text.replace('app.missing', 'X'));
    // An ID or an ID prefix of an in-scope secret is not a name: the plugin asks by name only.
    const id = ok(docker(daemon.host, ['secret', 'inspect', '--format', '{{.ID}}', 'app.plain']), 'inspect').trim();
    assert.deepEqual((await call(socket, 'SecretProvider.GetSecret', { SecretName: id })).json, { Err: `secret ${id} not found` });
  });

  test('the task context reaches the driver and DoNotReuse comes back from it', async () => {
    ok(docker(daemon.host, ['secret', 'create', '--driver', fixtureName, '--label', 'fixture.do-not-reuse=true', 'app.fresh']), 'create');
    const r = await call(socket, 'SecretProvider.GetSecret', { SecretName: 'app.fresh', ServiceName: 'web', TaskName: 'web.1.abc', TaskID: 'abc' });
    assert.equal(r.json.DoNotReuse, true);
    assert.equal(Buffer.from(r.json.Value, 'base64').toString(), 'value-of-app.fresh@web.1.abc');
  });

  test('a driver failure is Err with its message, never a value', async () => {
    ok(docker(daemon.host, ['secret', 'create', '--driver', fixtureName, '--label', 'fixture.error=store is down', 'app.broken']), 'create');
    const r = await call(socket, 'SecretProvider.GetSecret', { SecretName: 'app.broken' });
    assert.equal(r.status, 200);
    assert.deepEqual(Object.keys(r.json), ['Err']);
    assert.match(r.json.Err, /^secret driver .*store is down/);
  });

  test('bad input is a clear 4xx and the daemon keeps serving', async () => {
    const notJson = await request(`unix://${socket}`, { method: 'POST', path: '/SecretProvider.GetSecret', body: '{"SecretName":' });
    assert.equal(notJson.status, 400);
    assert.match(notJson.json.Err, /not JSON/);
    const noName = await call(socket, 'SecretProvider.GetSecret', { SecretLabels: {} });
    assert.equal(noName.status, 400);
    assert.match(noName.json.Err, /SecretName/);
    const wrongType = await call(socket, 'SecretProvider.GetSecret', { SecretName: 'app.plain', SecretLabels: { a: 1 } });
    assert.equal(wrongType.status, 400);
    const huge = await request(`unix://${socket}`, { method: 'POST', path: '/SecretProvider.GetSecret', body: `{"SecretName":"${'a'.repeat(300 * 1024)}"}` });
    assert.equal(huge.status, 413);
    assert.equal((await call(socket, 'Plugin.Activate', undefined, 'GET')).status, 405);
    assert.equal((await call(socket, 'NetworkDriver.CreateNetwork', {})).status, 404);
    assert.equal(
      (await call(socket, 'VolumeDriver.Create', { Name: '../etc', Opts: { secret: 'app.plain' } })).json.Err,
      'invalid volume name "../etc": use [a-zA-Z0-9][a-zA-Z0-9_.-]*',
    );
    assert.match(
      (await call(socket, 'VolumeDriver.Create', { Name: 'v1', Opts: { secret: 'app.plain', color: 'red' } })).json.Err,
      /unknown volume option "color"/,
    );
    assert.match((await call(socket, 'VolumeDriver.Create', { Name: 'v1', Opts: { secret: 'app.plain:../x' } })).json.Err, /NAME:FILE/);
    assert.match((await call(socket, 'VolumeDriver.Create', { Name: 'v1', Opts: { secret: 'app.plain', mode: '999' } })).json.Err, /octal/);
    assert.match((await call(socket, 'VolumeDriver.Create', { Name: 'v1', Opts: {} })).json.Err, /needs the option secret=/);
    assert.deepEqual((await call(socket, 'VolumeDriver.List', {})).json, { Volumes: [], Err: '' }, 'no refused Create left a volume');
    assert.equal((await call(socket, 'SecretProvider.GetSecret', { SecretName: 'app.plain' })).status, 200, 'still serving');
  });

  test('each GetSecret is one audit line naming service, task, node and secret, never the value', async () => {
    const lines = auditOf(daemon).filter((l) => l.action === 'secret.deliver');
    const first = lines.find((l) => l.task === 'task1');
    assert.ok(first, 'the first GetSecret is audited');
    // The chain's fields and the store checkpoint stamped on every line are the log's own bookkeeping.
    const { seq: _seq, time: _time, prev: _prev, store: _store, ...rest } = first as AuditLine & { seq: number; time: string; prev: string; store?: unknown };
    assert.deepEqual(
      { ...rest, secret: { name: first.secret.name } },
      {
        who: { transport: 'unix', socket },
        action: 'secret.deliver',
        secret: { name: 'app.plain' },
        task: 'task1',
        service: 'web',
        node: 'node1',
        version: 1,
        result: 'ok',
      },
    );
    assert.ok(lines.some((l) => l.secret.ref === 'outside' && l.result === 'not_found'));
    const log = readFileSync(join(daemon.dataRoot, 'audit.log'), 'utf8');
    for (const value of ['plain value', 'outside value', Buffer.from('plain value').toString('base64')]) {
      assert.ok(!log.includes(value) && !daemon.logs.includes(value), `a value leaked: ${value}`);
    }
  });
});

describe('--plugin-listen flags', () => {
  test('a socket not named NAME.sock and a malformed pattern stop the daemon, naming the flag', async () => {
    await assert.rejects(startDaemon({ args: ['--plugin-listen', join(scratch, 'plugin')] }), /--plugin-listen .*NAME\.sock/);
    await assert.rejects(startDaemon({ args: ['--plugin-listen', join(scratch, 'p.sock'), '--plugin-allow', 'a b'] }), /--plugin-allow "a b"/);
    await assert.rejects(startDaemon({ args: ['--plugin-allow', 'app.*'] }), /--plugin-allow needs --plugin-listen/);
  });
});

describe('the VolumeDriver protocol, call by call', { skip: cliMissing || (process.getuid?.() !== 0 && 'mounting a tmpfs needs root') }, () => {
  let daemon: Daemon;
  const socket = join(scratch, 'vol', `${unique('secretd')}.sock`);
  before(async () => {
    daemon = await startDaemon({ args: ['--plugin-listen', socket, '--plugin-allow', 'app.*'] });
    ok(docker(daemon.host, ['secret', 'create', 'app.one', '-'], { input: 'one' }), 'create');
  });
  after(() => daemon?.dispose());
  const v = (method: string, body: object) => call(socket, `VolumeDriver.${method}`, body).then((r) => r.json as Record<string, any>);
  const mounted = (dir: string) =>
    readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .some((l) => l.split(' ')[4] === dir);

  test('Create, Get, List, Path, Mount twice, Unmount twice, Remove: the tmpfs lives from the first Mount to the last Unmount', async () => {
    assert.deepEqual(await v('Capabilities', {}), { Capabilities: { Scope: 'local' }, Err: '' });
    assert.deepEqual(await v('Create', { Name: 'creds', Opts: { secret: 'app.one:one.txt', mode: '0400' } }), { Err: '' });
    assert.deepEqual(await v('Create', { Name: 'creds', Opts: { secret: 'app.one:one.txt', mode: '0400' } }), { Err: '' }, 'the same Create again is fine');
    assert.match((await v('Create', { Name: 'creds', Opts: { secret: 'app.one' } })).Err, /already exists with other options/);
    const got = await v('Get', { Name: 'creds' });
    assert.equal(got.Err, '');
    assert.deepEqual(
      { ...got.Volume, CreatedAt: typeof got.Volume.CreatedAt },
      {
        Name: 'creds',
        Mountpoint: '',
        CreatedAt: 'string',
        Status: { Secrets: 'app.one:one.txt', UID: 0, GID: 0, Mode: '0400', Mounts: 0 },
      },
    );
    assert.deepEqual(
      (await v('List', {})).Volumes.map((x: { Name: string }) => x.Name),
      ['creds'],
    );
    assert.deepEqual(await v('Path', { Name: 'creds' }), { Mountpoint: '', Err: '' });
    const first = await v('Mount', { Name: 'creds', ID: 'c1' });
    assert.equal(first.Err, '');
    const dir = first.Mountpoint as string;
    assert.equal(dir, join(daemon.dataRoot, 'volumes', 'creds'));
    assert.ok(mounted(dir));
    assert.equal(readFileSync(join(dir, 'one.txt'), 'utf8'), 'one', 'complete when Mount answers');
    assert.equal(statSync(join(dir, 'one.txt')).mode & 0o777, 0o400);
    assert.deepEqual(await v('Path', { Name: 'creds' }), { Mountpoint: dir, Err: '' });
    assert.equal((await v('Mount', { Name: 'creds', ID: 'c2' })).Mountpoint, dir);
    assert.match((await v('Remove', { Name: 'creds' })).Err, /in use by 2 mount/);
    assert.deepEqual(await v('Unmount', { Name: 'creds', ID: 'c1' }), { Err: '' });
    assert.ok(mounted(dir), 'still used by c2');
    assert.deepEqual(await v('Unmount', { Name: 'creds', ID: 'c2' }), { Err: '' });
    assert.ok(!mounted(dir), 'the last Unmount unmounts');
    assert.deepEqual(await v('Remove', { Name: 'creds' }), { Err: '' });
    assert.deepEqual(await v('Remove', { Name: 'creds' }), { Err: '' }, 'removing an unknown volume is done already');
    assert.match((await v('Get', { Name: 'creds' })).Err, /no such volume: creds/);
    assert.match((await v('Mount', { Name: 'creds', ID: 'c3' })).Err, /no such volume: creds/);
  });

  test('a Mount with a refused secret mounts nothing and names the secret; one audit line per file, naming the volume', async () => {
    assert.deepEqual(await v('Create', { Name: 'mixed', Opts: { secret: 'app.one,outside' } }), { Err: '' });
    const r = await v('Mount', { Name: 'mixed', ID: 'm1' });
    assert.equal(r.Err, 'secret outside not found');
    assert.ok(!mounted(join(daemon.dataRoot, 'volumes', 'mixed')));
    assert.deepEqual(await v('Path', { Name: 'mixed' }), { Mountpoint: '', Err: '' });
    const lines = auditOf(daemon).filter((l) => l.volume === 'mixed');
    assert.deepEqual(
      lines.map((l) => [l.secret.name ?? l.secret.ref, l.result]),
      [
        ['app.one', 'ok'],
        ['outside', 'not_found'],
      ],
    );
    assert.deepEqual(await v('Remove', { Name: 'mixed' }), { Err: '' });
  });
});
