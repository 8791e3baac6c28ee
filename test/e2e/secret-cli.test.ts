/**
 * `secretd secret create|ls|inspect|rm` end to end: the same scenario against a real secretd
 * and against the reference dockerd, since the CLI must work with any Engine API. Exit codes and
 * stderr are asserted as a script would rely on them.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ok, secretd, TARGETS, uniquePrefix, type Target } from '../helpers/cli.ts';

const ID = /^[a-z0-9]{25}$/;
const scratch = mkdtempSync(join(tmpdir(), 'secretd-secret-cli-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

interface Inspected {
  ID: string;
  Spec: { Name: string; Labels?: Record<string, string>; Templating?: { Name: string } };
}

for (const target of TARGETS) {
  describe(`secretd secret … against ${target.name}`, { skip: target.skip }, () => {
    let t: Target;
    const p = uniquePrefix('cli');
    const names = { value: `${p}_value`, stdin: `${p}_stdin`, file: `${p}_file`, literal: `${p}_literal`, tmpl: `${p}_tmpl` };
    const cli = (args: string[], opts?: Parameters<typeof secretd>[2]) => secretd(t.host, args, opts);

    before(async () => {
      t = await target.open();
    });
    after(async () => {
      // The reference dockerd is shared: leave nothing behind, whatever failed.
      cli(['secret', 'rm', ...Object.values(names)]);
      await t.close();
    });

    test('create prints only the ID, from each value source; --value and --from-literal warn on stderr', () => {
      const warning = /^WARNING: a value given on the command line is saved in your shell history and visible to other users in `ps`/;
      const byValue = cli(['secret', 'create', '--value', 's3cr3t', '--label', 'team=core', '-l', 'flag', names.value]);
      assert.match(ok(byValue, 'create --value').trim(), ID);
      assert.match(byValue.stderr, warning);

      const byStdin = cli(['secret', 'create', names.stdin, '-'], { input: 'from stdin' });
      assert.match(ok(byStdin, 'create -').trim(), ID);
      assert.equal(byStdin.stderr, '');

      writeFileSync(join(scratch, 'value.txt'), 'from a file\n');
      assert.match(ok(cli(['secret', 'create', '-f', join(scratch, 'value.txt'), '-l', 'team=core', names.file]), 'create -f').trim(), ID);

      const byLiteral = cli(['secret', 'create', '--from-literal', 'user=app', '--from-literal', 'password=p=w', names.literal]);
      assert.match(ok(byLiteral, 'create --from-literal').trim(), ID);
      assert.match(byLiteral.stderr, warning);

      assert.match(ok(cli(['secret', 'create', '--template-driver', 'golang', names.tmpl, join(scratch, 'value.txt')]), 'create FILE').trim(), ID);
    });

    test('inspect prints one JSON array of every secret asked for', () => {
      const all = JSON.parse(ok(cli(['secret', 'inspect', names.value, names.stdin, names.tmpl]), 'inspect')) as Inspected[];
      assert.deepEqual(
        all.map((s) => s.Spec.Name),
        [names.value, names.stdin, names.tmpl],
      );
      assert.deepEqual(all[0]!.Spec.Labels, { team: 'core', flag: '' });
      assert.equal(all[2]!.Spec.Templating?.Name, 'golang');
    });

    test('inspect of a missing secret prints the others and the daemon’s error, exit 1', () => {
      const r = cli(['secret', 'inspect', names.value, `${p}_missing`]);
      assert.equal(r.status, 1);
      assert.deepEqual(
        (JSON.parse(r.stdout) as Inspected[]).map((s) => s.Spec.Name),
        [names.value],
      );
      assert.equal(r.stderr, `Error response from daemon: secret ${p}_missing not found\n`);
    });

    test('ls shows the docker table sorted by name, json lines, and IDs with -q', () => {
      const table = ok(cli(['secret', 'ls', '--filter', `name=${p}`]), 'ls').split('\n');
      assert.match(table[0]!, /^ID {26}NAME {2,}DRIVER {4}CREATED {2,}UPDATED$/);
      assert.deepEqual(
        table.slice(1, -1).map((l) => l.split(/\s+/)[1]),
        Object.values(names).sort(),
      );
      assert.match(table[1]!, /^[a-z0-9]{25} {3}\S+ +(Less than a second|\d+ seconds?) ago +/);

      const lines = ok(cli(['secret', 'ls', '-f', `label=team=core`, '-f', `name=${p}`, '--format', 'json']), 'ls json')
        .trim()
        .split('\n');
      const rows = lines.map((l) => JSON.parse(l) as Record<string, string>);
      assert.deepEqual(
        rows.map((r) => r.Name),
        [names.file, names.value],
      );
      assert.deepEqual(Object.keys(rows[0]!), ['CreatedAt', 'Driver', 'ID', 'Labels', 'Name', 'UpdatedAt']);
      assert.equal(rows[1]!.Labels, 'flag=,team=core');

      const ids = ok(cli(['secret', 'ls', '-q', '--filter', `name=${names.value}`]), 'ls -q')
        .trim()
        .split('\n');
      assert.equal(ids.length, 1);
      assert.match(ids[0]!, ID);
    });

    test('create of a taken name fails with the daemon’s message, exit 1', () => {
      const r = cli(['secret', 'create', names.stdin, '-'], { input: 'again' });
      assert.equal(r.status, 1);
      assert.match(r.stderr, new RegExp(`^Error response from daemon: .*${names.stdin}.* already exists\\n$`));
      assert.equal(r.stdout, '');
    });

    test('empty stdin or an unreadable file is refused before the daemon is asked, exit 1', () => {
      assert.deepEqual(cli(['secret', 'create', `${p}_empty`, '-'], { input: '' }), {
        status: 1,
        stdout: '',
        stderr: 'error reading from STDIN: data is empty\n',
      });
      const missing = join(scratch, 'nope.txt');
      assert.deepEqual(cli(['secret', 'create', `${p}_empty`, missing]), {
        status: 1,
        stdout: '',
        stderr: `error reading from ${missing}: open ${missing}: no such file or directory\n`,
      });
    });

    test('rm removes each name it can, reports the others, goes on, and exits 1', () => {
      const r = cli(['secret', 'rm', names.value, `${p}_missing`, names.stdin]);
      assert.equal(r.status, 1);
      assert.equal(r.stdout, `${names.value}\n${names.stdin}\n`);
      assert.equal(r.stderr, `Error response from daemon: secret ${p}_missing not found\n`);
      assert.equal(ok(cli(['secret', 'rm', names.file, names.literal, names.tmpl]), 'rm'), `${names.file}\n${names.literal}\n${names.tmpl}\n`);
      assert.equal(ok(cli(['secret', 'ls', '-q', '--filter', `name=${p}`]), 'ls'), '');
    });
  });
}

describe('secretd secret: command-line mistakes exit 2 without asking a daemon', () => {
  const host = `unix://${join(scratch, 'no-daemon.sock')}`;
  const cases: [string, string[], string][] = [
    ['no value source', ['secret', 'create', 'x'], 'secret create needs a value: --value VALUE, -f FILE, - (stdin) or --from-literal KEY=VALUE'],
    [
      'two value sources',
      ['secret', 'create', '--value', 'v', 'x', '-'],
      'give the value one way only: --value, -f FILE, a FILE or - argument, or --from-literal',
    ],
    ['a driver with a value (docker’s words)', ['secret', 'create', '-d', 'vault', '--value', 'v', 'x'], 'When using secret driver secret data must be empty'],
    ['a driver option without a driver', ['secret', 'create', '--driver-opt', 'a=b', '--value', 'v', 'x'], '--driver-opt needs --driver'],
    ['a malformed --from-literal', ['secret', 'create', '--from-literal', 'novalue', 'x'], '--from-literal novalue: expected KEY=VALUE'],
    ['an unknown ls format', ['secret', 'ls', '--format', '{{.ID}}'], '--format {{.ID}}: use table or json'],
    ['a filter without =', ['secret', 'ls', '--filter', 'name'], 'bad format of filter (expected name=value)'],
    ['an unknown subcommand', ['secret', 'frobnicate'], 'unknown secret command "frobnicate"'],
  ];
  for (const [what, args, message] of cases) {
    test(`${what}: ${message}`, () => {
      const r = secretd(host, args);
      assert.deepEqual(r, { status: 2, stdout: '', stderr: `secretd secret: ${message}\nSee 'secretd secret --help'.\n` });
    });
  }

  test('no daemon at DOCKER_HOST is exit 1 with a message naming it', () => {
    const r = secretd(host, ['secret', 'ls']);
    assert.equal(r.status, 1);
    assert.equal(r.stderr, `secretd secret: Cannot connect to secretd at ${host}. Is the daemon running?\n`);
  });
});
