/**
 * The audit log through a real daemon: the docker CLI, dockerode and `secretd token|get` make
 * changes and deliveries; the log has one line per mutating request with who, what, which secret
 * and the outcome, never a value or a token's secret; `secretd audit verify` passes, names an
 * edited or removed line, and the chain survives a kill -9 under load.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Docker from 'dockerode';
import { PROJECT_ROOT, startDaemon, type Daemon } from '../helpers/daemon.ts';
import { dockerCliMissing } from '../helpers/tools.ts';
import { tokenParts } from '../helpers/tokens.ts';
import { killUnderLoad } from '../helpers/load.ts';

const scratch = mkdtempSync(join(tmpdir(), 'secretd-audit-e2e-'));
const VALUES = ['audit-value-one-7f1c', 'audit-value-two-93ab', 'audit-value-conflict-55de'];

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, input?: string): Run {
  const res = spawnSync(cmd, args, { env: { ...process.env, ...env }, input, encoding: 'utf8', timeout: 60_000, cwd: PROJECT_ROOT });
  assert.equal(res.error, undefined, `could not run ${cmd}: ${String(res.error)}`);
  return { status: res.status, stdout: res.stdout, stderr: res.stderr };
}

const verify = (file: string) => run('node', ['bin/secretd.mjs', 'audit', 'verify', file], {});

type Line = {
  seq: number;
  who: { transport: string; socket?: string; token?: string };
  action: string;
  secret?: { id?: string; name?: string; ref?: string };
  token?: string;
  task?: string;
  result: string;
  status?: number;
};
/** The log's lines; `lenient` skips a line a crash tore (which verify accounts for). */
function linesOf(file: string, lenient = false): Line[] {
  return readFileSync(file, 'utf8')
    .trimEnd()
    .split('\n')
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as Line];
      } catch (e) {
        if (lenient) return [];
        throw e;
      }
    });
}

describe('the audit log of a real daemon', { skip: dockerCliMissing() }, () => {
  let daemon: Daemon;
  let log: string;
  let token: string;
  let tokenId: string;
  const ids: Record<string, string> = {};
  const dirs: string[] = [];
  const docker = (args: string[], input?: string) => run('docker', args, { DOCKER_HOST: daemon.host, DOCKER_CONFIG: join(scratch, 'docker') }, input);
  const secretd = (args: string[]) => run('node', ['bin/secretd.mjs', ...args], { DOCKER_HOST: daemon.host, SECRETD_TOKEN: '' });
  const deliver = (name: string, bearer?: string) =>
    daemon.request({
      method: 'POST',
      path: `/_secretd/v1/secrets/${name}/value`,
      headers: bearer ? { Authorization: `Bearer ${bearer}` } : {},
      body: { Task: { ID: 'task42' } },
    });

  before(async () => {
    daemon = await startDaemon({ args: ['--delivery'] });
    log = join(daemon.dataRoot, 'audit.log');
    const ok = (r: Run) => {
      assert.equal(r.status, 0, r.stderr);
      return r.stdout.trim();
    };
    ids['app.one'] = ok(docker(['secret', 'create', 'app.one', '-'], VALUES[0]));
    assert.equal(docker(['secret', 'create', 'app.one', '-'], VALUES[2]).status, 1); // 409
    ids['app.two'] = ok(docker(['secret', 'create', 'app.two', '-'], VALUES[1]));
    const dockerode = new Docker({ socketPath: daemon.socket });
    const one = dockerode.getSecret('app.one');
    const info = (await one.inspect()) as unknown as { Version: { Index: number } };
    await one.update({ version: info.Version.Index, Name: 'app.one', Labels: { rotated: 'yes' } } as never);
    ok(docker(['secret', 'rm', 'app.two']));
    assert.equal(docker(['secret', 'rm', 'no-such-secret']).status, 1); // 404
    token = ok(secretd(['token', 'create', '--allow', 'app.one']));
    tokenId = tokenParts(token).id;
    assert.equal(ok(secretd(['get', '--token', token, 'app.one'])), VALUES[0]);
    assert.equal((await deliver('app.one', token)).status, 200);
    assert.equal((await deliver('app.one')).status, 401);
    assert.equal((await deliver('app.other', token)).status, 404); // out of scope: as if missing
    ok(secretd(['token', 'rm', tokenId]));
    ok(docker(['swarm', 'leave', '--force']));
    ok(docker(['swarm', 'init']));
  });

  after(async () => {
    await daemon?.dispose();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    rmSync(scratch, { recursive: true, force: true });
  });

  test('one line per mutating request and delivery, in order, with action, secret, result and status', () => {
    const got = linesOf(log).map((l) => [l.action, l.secret?.name ?? l.secret?.ref ?? l.token, l.result, l.status ?? null]);
    assert.deepEqual(got, [
      ['secret.create', 'app.one', 'ok', 201],
      ['secret.create', 'app.one', 'name_conflict', 409],
      ['secret.create', 'app.two', 'ok', 201],
      ['secret.update', 'app.one', 'ok', 200],
      ['secret.remove', 'app.two', 'ok', 204],
      ['secret.remove', 'no-such-secret', 'not_found', 404],
      ['token.create', tokenId, 'ok', 201],
      ['secret.deliver', 'app.one', 'ok', null],
      ['secret.deliver', 'app.one', 'ok', null],
      ['secret.deliver', 'app.one', 'unauthorized', null],
      ['secret.deliver', 'app.other', 'not_found', null],
      ['token.revoke', tokenId, 'ok', 204],
      ['swarm.leave', undefined, 'ok', 200],
      ['swarm.init', undefined, 'ok', 200],
    ]);
  });

  test('who is the unix socket (no uid: Node gives no SO_PEERCRED), plus the token ID for deliveries; secrets carry ID and name', () => {
    const lines = linesOf(log);
    for (const l of lines) assert.deepEqual({ transport: l.who.transport, socket: l.who.socket }, { transport: 'unix', socket: daemon.socket });
    const created = lines.filter((l) => l.action === 'secret.create' && l.result === 'ok');
    assert.deepEqual(
      created.map((l) => l.secret),
      [
        { name: 'app.one', id: ids['app.one'] },
        { name: 'app.two', id: ids['app.two'] },
      ],
    );
    assert.deepEqual(lines.find((l) => l.action === 'secret.remove')?.secret, { id: ids['app.two'], name: 'app.two' });
    const deliveries = lines.filter((l) => l.action === 'secret.deliver');
    assert.deepEqual(
      deliveries.map((l) => l.who.token),
      [tokenId, tokenId, undefined, tokenId],
    );
    assert.equal(deliveries[1]!.task, 'task42');
    assert.deepEqual(deliveries[1]!.secret, { id: ids['app.one'], name: 'app.one' });
  });

  test('no value, base64 of a value, token or token secret is anywhere in the log or its head file', () => {
    const text = readFileSync(log, 'utf8') + readFileSync(`${log}.head`, 'utf8');
    for (const v of VALUES) {
      assert.ok(!text.includes(v), `the audit log holds ${v}`);
      assert.ok(!text.includes(Buffer.from(v).toString('base64').slice(0, 16)), `the audit log holds base64 of ${v}`);
    }
    assert.ok(!text.includes(tokenParts(token).secret), 'the audit log holds the token secret');
    assert.ok(!text.includes('rotated'), 'the audit log holds request bodies');
  });

  test('secretd audit verify: intact, then names an edited line and a removed line', () => {
    const intact = verify(log);
    assert.equal(intact.status, 0, intact.stderr);
    assert.match(intact.stdout, /^14 lines, chain intact \(last seq 14, matches the head file\)$/m);

    const lines = readFileSync(log, 'utf8').split('\n');
    const edited = join(scratch, 'edited.log');
    writeFileSync(edited, lines.map((l, i) => (i === 4 ? l.replace('"app.two"', '"app.tw0"') : l)).join('\n'));
    const e = verify(edited);
    assert.equal(e.status, 1);
    assert.match(e.stderr, /edited\.log: line 5: line 5 \(seq 5\) was edited/);

    const removed = join(scratch, 'removed.log');
    writeFileSync(removed, lines.filter((_, i) => i !== 6).join('\n'));
    const r = verify(removed);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /line 7: line 7 has seq 8 after seq 6: seq 7 was removed/);

    const cut = join(scratch, 'cut.log');
    writeFileSync(cut, lines.slice(0, 10).join('\n') + '\n');
    copyFileSync(`${log}.head`, `${cut}.head`);
    const c = verify(cut);
    assert.equal(c.status, 1);
    assert.match(c.stderr, /the head file records seq 14 but the log ends at seq 10: lines were removed from the end/);
  });

  test('kill -9 under load, then a restart: every acknowledged create has its line and the chain continues', async () => {
    const acked = await killUnderLoad(daemon, { name: (w, i) => `load-${w}-${i}` });

    dirs.push(daemon.dir); // holds the data root the restarted daemon uses
    daemon = await startDaemon({ dataRoot: daemon.dataRoot, args: ['--delivery'] });
    assert.equal((await daemon.request({ method: 'POST', path: '/secrets/create', body: { Name: 'after-restart', Data: 'eA==' } })).status, 201);
    const lines = linesOf(log, true);
    const recorded = new Set(lines.filter((l) => l.action === 'secret.create').map((l) => l.secret?.id));
    const missing = acked.filter((id) => !recorded.has(id));
    assert.deepEqual(missing, [], `${missing.length} of ${acked.length} acknowledged creates have no audit line`);
    assert.equal(lines.at(-1)!.secret?.name, 'after-restart');
    const v = verify(log);
    assert.equal(v.status, 0, v.stderr);
    assert.match(v.stdout, /lines, chain intact/);
  });
});
