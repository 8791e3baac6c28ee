/**
 * Rotation end to end, as a user drives it: a real daemon, the docker CLI and `secretd secret
 * rotate|versions|rollback|removed|restore|purge`, values read back through a consumer token, the
 * Engine API checked for what it shows (and still refuses), the audit log read for every change,
 * and kill -9 after an acknowledged rotate.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { docker, ok, secretd, uniquePrefix } from '../helpers/cli.ts';
import { startDaemon, type Daemon } from '../helpers/daemon.ts';
import { request } from '../helpers/http.ts';
import { dockerCliMissing } from '../helpers/tools.ts';

const PREFIX = '/_secretd/v1';

interface Versions {
  Version: number;
  CreatedAt: string;
  Current: boolean;
}

interface AuditLine {
  action: string;
  secret?: { id?: string; name?: string; ref?: string };
  versions?: { version: number; previous: number; dropped?: number[] };
  result: string;
  who: { transport: string };
}

/** Waits for `check` to hold, polling, up to `ms`. */
async function eventually(what: string, check: () => Promise<boolean> | boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('rotation: versions, rollback, keep limit, the Engine API unchanged', { skip: dockerCliMissing() }, () => {
  let d: Daemon;
  let tcp: string;
  let token: string;
  const p = uniquePrefix('rot');
  const cli = (args: string[], input?: string) => secretd(d.host, args, input === undefined ? {} : { input });
  const value = async (name: string) => {
    const res = await d.request({ path: `${PREFIX}/secrets/${name}/value`, headers: { Authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200, `delivery of ${name}: ${res.text}`);
    return res.text;
  };
  const versionsOf = async (name: string) => {
    const res = await d.request({ path: `${PREFIX}/secrets/${name}/versions` });
    assert.equal(res.status, 200, res.text);
    return res.json as Versions[];
  };
  const audit = () =>
    readFileSync(`${d.dataRoot}/audit.log`, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as AuditLine);

  before(async () => {
    d = await startDaemon({ args: ['--delivery', '--keep-versions', '3', '-H', 'tcp://127.0.0.1:0', '--driver-opt', 'env.allow=HOME'] });
    const port = /tcp:\/\/127\.0\.0\.1:(\d+)/.exec(d.logs)?.[1];
    assert.ok(port, `no TCP address in: ${d.logs}`);
    tcp = `http://127.0.0.1:${port}`;
    const issued = await d.request({ method: 'POST', path: `${PREFIX}/tokens`, body: { Allow: [`${p}*`] } });
    assert.equal(issued.status, 201);
    token = issued.json.Token as string;
  });
  after(async () => d?.dispose());

  test('rotate makes a new current version; the Engine API shows a new Version.Index and UpdatedAt, nothing else', async () => {
    const name = `${p}_db`;
    ok(docker(d.host, ['secret', 'create', '--label', 'team=core', name, '-'], { input: 'one' }), 'docker secret create');
    const before = JSON.parse(ok(docker(d.host, ['secret', 'inspect', name]), 'inspect'))[0];
    assert.equal(ok(cli(['secret', 'rotate', name, '-'], 'two'), 'rotate').trim(), '2');
    assert.equal(await value(name), 'two');

    const now = JSON.parse(ok(docker(d.host, ['secret', 'inspect', name]), 'inspect'))[0];
    assert.equal(now.ID, before.ID);
    assert.equal(now.CreatedAt, before.CreatedAt);
    assert.deepEqual(now.Spec, before.Spec);
    assert.ok(now.Version.Index > before.Version.Index, 'a rotation advances Version.Index');
    assert.ok(Date.parse(now.UpdatedAt) >= Date.parse(before.UpdatedAt) && now.UpdatedAt !== before.UpdatedAt, 'and UpdatedAt');

    // Data stays immutable through the Engine API, with dockerd's message.
    const update = await d.request({
      method: 'POST',
      path: `/secrets/${now.ID}/update?version=${now.Version.Index}`,
      body: { Name: name, Labels: {}, Data: Buffer.from('three').toString('base64') },
    });
    assert.equal(update.status, 400);
    assert.deepEqual(update.json, { message: 'rpc error: code = InvalidArgument desc = only updates to Labels are allowed' });
    // A label update with the Version.Index from before the rotation is stale.
    const stale = await d.request({
      method: 'POST',
      path: `/secrets/${now.ID}/update?version=${before.Version.Index}`,
      body: { Name: name, Labels: { x: 'y' } },
    });
    assert.equal(stale.status, 500);
    assert.match(stale.text, /update out of sequence/);

    const table = ok(cli(['secret', 'versions', name]), 'versions');
    assert.match(table, /^VERSION\s+CREATED\s+CURRENT\n1\s+.+ago\s*\n2\s+.+ago\s+\*\n$/);
    const json = ok(cli(['secret', 'versions', name, '--format', 'json']), 'versions --format json')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Versions);
    assert.deepEqual(
      json.map((v) => [v.Version, v.Current]),
      [
        [1, false],
        [2, true],
      ],
    );
    assert.deepEqual(Object.keys(json[0]!), ['Version', 'CreatedAt', 'Current']);
    assert.ok(!table.includes('one') && !table.includes('two'), 'versions never shows a value');
  });

  test('--keep-versions drops the oldest; rollback makes a kept version current; numbers are never reused', async () => {
    const name = `${p}_keep`;
    ok(docker(d.host, ['secret', 'create', name, '-'], { input: 'v1' }), 'create');
    for (const n of [2, 3, 4, 5]) assert.equal(ok(cli(['secret', 'rotate', name, '-'], `v${n}`), 'rotate').trim(), String(n));
    assert.deepEqual(
      (await versionsOf(name)).map((v) => v.Version),
      [3, 4, 5],
    );

    const gone = cli(['secret', 'rollback', name, '1']);
    assert.equal(gone.status, 1);
    assert.equal(gone.stderr.trim(), `Error response from daemon: secret ${name} has no version 1`);
    assert.equal(await value(name), 'v5', 'a refused rollback changes nothing');

    assert.equal(ok(cli(['secret', 'rollback', name, '3']), 'rollback').trim(), '3');
    assert.equal(await value(name), 'v3');
    assert.deepEqual(
      (await versionsOf(name)).map((v) => [v.Version, v.Current]),
      [
        [3, true],
        [4, false],
        [5, false],
      ],
    );
    assert.equal(ok(cli(['secret', 'rotate', name, '-'], 'v6'), 'rotate after rollback').trim(), '6');
    assert.equal(await value(name), 'v6');
    // Three kept: the current (6) and the newest others; the rolled-back-to 3 is the oldest.
    assert.deepEqual(
      (await versionsOf(name)).map((v) => v.Version),
      [4, 5, 6],
    );
  });

  test('--generate draws LENGTH characters from the classes asked for, each at least once', async () => {
    const name = `${p}_gen`;
    ok(docker(d.host, ['secret', 'create', name, '-'], { input: 'seed' }), 'create');
    for (let i = 0; i < 5; i++) ok(cli(['secret', 'rotate', name, '--generate', '24:upper,digits']), 'rotate --generate');
    const v = await value(name);
    assert.match(v, /^[A-Z0-9]{24}$/);
    assert.match(v, /[A-Z]/);
    assert.match(v, /[0-9]/);
    ok(cli(['secret', 'rotate', name, '--generate', '40']), 'rotate --generate 40');
    assert.equal((await value(name)).length, 40);
    const bad = cli(['secret', 'rotate', name, '--generate', '24:emoji']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /unknown character class "emoji"/);
  });

  test('bad input is a clear 4xx and changes nothing', async () => {
    const name = `${p}_bad`;
    ok(docker(d.host, ['secret', 'create', name, '-'], { input: 'kept' }), 'create');
    const path = `${PREFIX}/secrets/${name}/versions`;
    const cases: [unknown, number, RegExp][] = [
      [{ Data: '!!!' }, 400, /invalid request body/],
      [{ Data: '' }, 400, /larger than 0/],
      [{ Data: 'dHdv', Generate: { Length: 10 } }, 400, /invalid request body/],
      [{ Generate: { Length: 4 } }, 400, /invalid request body/],
      [{ Generate: { Length: 16, Classes: ['upper', 'upper'] } }, 400, /invalid request body/],
      [{}, 400, /invalid request body/],
      [{ Data: Buffer.alloc(512_000, 1).toString('base64') }, 400, /less than 512000 bytes/],
    ];
    for (const [body, status, message] of cases) {
      const res = await d.request({ method: 'POST', path, body });
      assert.equal(res.status, status, `${JSON.stringify(body).slice(0, 80)} → ${res.status} ${res.text}`);
      assert.match(String(res.json?.message), message);
    }
    for (const v of ['0', 'abc', '1.5', '-1', '99999999999999999999']) {
      const res = await d.request({ method: 'POST', path: `${path}/${v}/rollback` });
      assert.equal(res.status, 400, `rollback ${v}: ${res.text}`);
    }
    const missing = await d.request({ method: 'POST', path: `${PREFIX}/secrets/${p}_nosuch/versions`, body: { Data: 'dHdv' } });
    assert.equal(missing.status, 404);
    assert.deepEqual(missing.json, { message: `secret ${p}_nosuch not found` });
    assert.deepEqual(
      (await versionsOf(name)).map((v) => v.Version),
      [1],
    );
    assert.equal(await value(name), 'kept');

    // A driver supplies its secret's value: there is nothing to rotate here.
    const env = `${p}_env`;
    const created = await d.request({ method: 'POST', path: '/secrets/create', body: { Name: env, Driver: { Name: 'env', Options: { name: 'HOME' } } } });
    assert.equal(created.status, 201, created.text);
    const refused = await d.request({ method: 'POST', path: `${PREFIX}/secrets/${env}/versions`, body: { Data: 'dHdv' } });
    assert.equal(refused.status, 400);
    assert.match(refused.json.message, /takes its value from driver env: rotate it there/);
  });

  test('administration only: plain TCP is refused, and learns nothing about which secrets exist', async () => {
    const name = `${p}_db`;
    for (const ref of [name, `${p}_nosuch`]) {
      const list = await request(tcp, { path: `${PREFIX}/secrets/${ref}/versions` });
      assert.equal(list.status, 403);
      assert.deepEqual(list.json, { message: 'secret versions are administered over the unix socket or TLS with a client certificate only' });
      const rotated = await request(tcp, { method: 'POST', path: `${PREFIX}/secrets/${ref}/versions`, body: { Data: 'eA==' } });
      assert.equal(rotated.status, 403);
      const rolled = await request(tcp, { method: 'POST', path: `${PREFIX}/secrets/${ref}/versions/1/rollback` });
      assert.equal(rolled.status, 403);
    }
    assert.equal((await request(tcp, { path: `${PREFIX}/removed-secrets` })).status, 403);
    assert.equal(await value(name), 'two');
  });

  test('every rotate and rollback is one audit line with version numbers, and no value anywhere', async () => {
    const lines = audit();
    const keep = lines.filter((l) => l.secret?.name === `${p}_keep` && (l.action === 'secret.rotate' || l.action === 'secret.rollback'));
    assert.deepEqual(
      keep.map((l) => [l.action, l.result, l.versions]),
      [
        ['secret.rotate', 'ok', { version: 2, previous: 1 }],
        ['secret.rotate', 'ok', { version: 3, previous: 2 }],
        ['secret.rotate', 'ok', { version: 4, previous: 3, dropped: [1] }],
        ['secret.rotate', 'ok', { version: 5, previous: 4, dropped: [2] }],
        ['secret.rollback', 'not_found', undefined],
        ['secret.rollback', 'ok', { version: 3, previous: 5 }],
        ['secret.rotate', 'ok', { version: 6, previous: 3, dropped: [3] }],
      ],
    );
    assert.ok(keep.every((l) => l.who.transport === 'unix'));
    const refused = lines.filter((l) => l.action === 'secret.rotate' && l.result !== 'ok');
    assert.ok(refused.length >= 7, 'refused rotations are recorded too');
    const text = readFileSync(`${d.dataRoot}/audit.log`, 'utf8');
    // As a word: IDs and hashes in the output are letters and digits, and may hold "v6" by chance.
    for (const v of ['v5', 'v6', 'kept', 'two']) {
      const word = new RegExp(`(^|[^A-Za-z0-9])${v}([^A-Za-z0-9]|$)`);
      assert.ok(!text.includes(`"${v}"`) && !word.test(d.logs), `${v} is in the audit log or the daemon's output`);
    }
  });

  test('an acknowledged rotate survives kill -9', async () => {
    const name = `${p}_kill`;
    ok(docker(d.host, ['secret', 'create', name, '-'], { input: 'before' }), 'create');
    assert.equal(ok(cli(['secret', 'rotate', name, '-'], 'after'), 'rotate').trim(), '2');
    const dataRoot = d.dataRoot;
    await d.kill9();
    d = await startDaemon({ dataRoot, args: ['--delivery', '--keep-versions', '3'] });
    assert.equal(await value(name), 'after');
    assert.deepEqual(
      (await versionsOf(name)).map((v) => [v.Version, v.Current]),
      [
        [1, false],
        [2, true],
      ],
    );
    assert.equal(ok(cli(['secret', 'rollback', name, '1']), 'rollback').trim(), '1');
    assert.equal(await value(name), 'before');
  });
});

describe('the recovery window: rm keeps a secret restorable', { skip: dockerCliMissing() }, () => {
  let d: Daemon;
  let token: string;
  const p = uniquePrefix('rec');
  const cli = (args: string[], input?: string) => secretd(d.host, args, input === undefined ? {} : { input });
  const value = async (name: string) => (await d.request({ path: `${PREFIX}/secrets/${name}/value`, headers: { Authorization: `Bearer ${token}` } })).text;

  before(async () => {
    d = await startDaemon({ args: ['--delivery', '--recovery-window', '1h'] });
    token = (await d.request({ method: 'POST', path: `${PREFIX}/tokens`, body: { Allow: [`${p}*`] } })).json.Token as string;
  });
  after(async () => d?.dispose());

  test('rm hides it and frees the name; restore is refused while the name is taken, then brings back the same secret', async () => {
    const name = `${p}_db`;
    const id = ok(docker(d.host, ['secret', 'create', '--label', 'a=b', name, '-'], { input: 'first' }), 'create').trim();
    ok(cli(['secret', 'rotate', name, '-'], 'second'), 'rotate');
    assert.equal(ok(docker(d.host, ['secret', 'rm', name]), 'rm').trim(), name);
    assert.equal(docker(d.host, ['secret', 'inspect', name]).status, 1);
    assert.equal(ok(docker(d.host, ['secret', 'ls', '-q', '--filter', `name=${p}`]), 'ls').trim(), '');

    const removed = ok(cli(['secret', 'removed', '--format', 'json']), 'removed')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      removed.map((r) => [r.ID, r.Name]),
      [[id, name]],
    );
    assert.ok(Date.parse(removed[0].PurgeAfter) - Date.parse(removed[0].RemovedAt) === 3_600_000);

    const reuse = ok(docker(d.host, ['secret', 'create', name, '-'], { input: 'other' }), 'create again').trim();
    const refused = cli(['secret', 'restore', name]);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /already exists/);
    assert.equal(await value(name), 'other', 'a refused restore changes nothing');

    ok(docker(d.host, ['secret', 'rm', reuse]), 'rm the reuse');
    // Both are removed now; the newest removal is the one a name restores.
    assert.equal(ok(cli(['secret', 'restore', id]), 'restore by ID').trim(), id);
    const back = JSON.parse(ok(docker(d.host, ['secret', 'inspect', name]), 'inspect'))[0];
    assert.equal(back.ID, id);
    assert.deepEqual(back.Spec.Labels, { a: 'b' });
    assert.equal(await value(name), 'second');
    assert.deepEqual(
      JSON.parse((await d.request({ path: `${PREFIX}/secrets/${name}/versions` })).text).map((v: Versions) => v.Version),
      [1, 2],
    );

    assert.equal(ok(cli(['secret', 'purge', reuse]), 'purge').trim(), reuse);
    assert.equal(ok(cli(['secret', 'removed', '--format', 'json']), 'removed').trim(), '', 'nothing is left in recovery');
  });

  test('restore, purge and rm are audited; a purged secret cannot come back', async () => {
    const name = `${p}_gone`;
    ok(docker(d.host, ['secret', 'create', name, '-'], { input: 'bye' }), 'create');
    ok(docker(d.host, ['secret', 'rm', name]), 'rm');
    assert.equal(ok(cli(['secret', 'purge', name]), 'purge').trim(), name);
    const again = cli(['secret', 'restore', name]);
    assert.equal(again.status, 1);
    assert.equal(again.stderr.trim(), `Error response from daemon: secret ${name} not found`);
    const lines = readFileSync(`${d.dataRoot}/audit.log`, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as AuditLine);
    const mine = lines.filter((l) => l.secret?.name === name || l.secret?.ref === name).map((l) => [l.action, l.result]);
    assert.deepEqual(mine, [
      ['secret.create', 'ok'],
      ['secret.remove', 'ok'],
      ['secret.purge', 'ok'],
      ['secret.restore', 'not_found'],
    ]);
  });
});

describe('the recovery window ends: expired secrets are purged in the background', { skip: dockerCliMissing() }, () => {
  test('a 2 s window purges within seconds, audited as the daemon', async () => {
    const d = await startDaemon({ args: ['--recovery-window', '2s'] });
    try {
      const name = uniquePrefix('exp');
      ok(docker(d.host, ['secret', 'create', name, '-'], { input: 'short' }), 'create');
      ok(docker(d.host, ['secret', 'rm', name]), 'rm');
      assert.match(ok(secretd(d.host, ['secret', 'removed']), 'removed'), new RegExp(name));
      await eventually('the removed secret is purged', () => !ok(secretd(d.host, ['secret', 'removed']), 'removed').includes(name));
      const lines = readFileSync(`${d.dataRoot}/audit.log`, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as AuditLine);
      const purge = lines.find((l) => l.action === 'secret.purge' && l.secret?.name === name);
      assert.equal(purge?.who.transport, 'daemon');
    } finally {
      await d.dispose();
    }
  });
});

describe('kill -9 while rotations are in flight', { skip: dockerCliMissing() }, () => {
  test('every acknowledged rotation is there after the restart, with its audit line, and every kept version opens', async () => {
    let d = await startDaemon({ args: ['--delivery', '--keep-versions', '4', '--log-level', 'warn'] });
    const p = uniquePrefix('krot');
    const names = Array.from({ length: 6 }, (_, i) => `${p}_${i}`);
    try {
      for (const name of names)
        assert.equal(
          (await d.request({ method: 'POST', path: '/secrets/create', body: { Name: name, Data: Buffer.from(`${name}-v1`).toString('base64') } })).status,
          201,
        );
      // Each secret's writer rotates to `${name}-vN` (N the version it will get) until the kill.
      const acked = new Map<string, number>(names.map((n) => [n, 1]));
      let total = 0;
      let enough!: () => void;
      const reached = new Promise<void>((resolve) => (enough = resolve));
      let stop = false;
      const writers = names.map(async (name) => {
        while (!stop) {
          const next = acked.get(name)! + 1;
          try {
            const res = await d.request({
              method: 'POST',
              path: `${PREFIX}/secrets/${name}/versions`,
              body: { Data: Buffer.from(`${name}-v${next}`).toString('base64') },
            });
            if (res.status !== 201) return;
            assert.equal(res.json.Version, next);
            acked.set(name, next);
            if (++total >= 120) enough();
          } catch {
            return; // the daemon is gone
          }
        }
      });
      await Promise.race([
        reached,
        new Promise((_, reject) => setTimeout(() => reject(new Error('not enough rotations acknowledged in 60 s')), 60_000).unref()),
      ]);
      await d.kill9();
      stop = true;
      await Promise.all(writers);
      const dataRoot = d.dataRoot;
      d = await startDaemon({ dataRoot, args: ['--delivery', '--keep-versions', '4', '--log-level', 'warn'] });
      const token = (await d.request({ method: 'POST', path: `${PREFIX}/tokens`, body: { Allow: [`${p}*`] } })).json.Token as string;
      const read = async (name: string) => (await d.request({ path: `${PREFIX}/secrets/${name}/value`, headers: { Authorization: `Bearer ${token}` } })).text;
      const lines = readFileSync(join(dataRoot, 'audit.log'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as AuditLine);
      for (const name of names) {
        const versions = (await d.request({ path: `${PREFIX}/secrets/${name}/versions` })).json as Versions[];
        const current = versions.find((v) => v.Current)!.Version;
        assert.ok(current >= acked.get(name)!, `${name}: version ${acked.get(name)} was acknowledged, ${current} is current`);
        assert.ok(versions.length <= 4);
        assert.equal(await read(name), `${name}-v${current}`, "the current value is whole and is its version's");
        const rotations = lines.filter((l) => l.action === 'secret.rotate' && l.secret?.name === name && l.result === 'ok').map((l) => l.versions!.version);
        for (let v = 2; v <= acked.get(name)!; v++) assert.ok(rotations.includes(v), `${name}: the audit line of acknowledged version ${v} is missing`);
      }
      // Every kept version of one secret still opens and is its own value.
      const name = names[0]!;
      for (const v of (await d.request({ path: `${PREFIX}/secrets/${name}/versions` })).json as Versions[]) {
        assert.equal((await d.request({ method: 'POST', path: `${PREFIX}/secrets/${name}/versions/${v.Version}/rollback` })).status, 200);
        assert.equal(await read(name), `${name}-v${v.Version}`);
      }
    } finally {
      await d.dispose();
    }
  });
});
