/**
 * `secretd stack deploy|rm` end to end, against a real secretd and the reference dockerd, and
 * compared with the real `docker stack deploy` on the reference dockerd (which takes a compose
 * file with only secrets, no service).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { docker, ok, secretd, TARGETS, uniquePrefix, type Target } from '../helpers/cli.ts';
import { referenceDockerd } from '../helpers/tools.ts';

interface Inspected {
  ID: string;
  Spec: { Name: string; Labels?: Record<string, string>; Templating?: { Name: string } };
}

const scratch = mkdtempSync(join(tmpdir(), 'secretd-stack-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

for (const target of TARGETS) {
  describe(`secretd stack … against ${target.name}`, { skip: target.skip }, () => {
    let t: Target;
    const stack = uniquePrefix('stk');
    const dir = join(scratch, stack);
    const pre = `${stack}_pre`;
    const cli = (args: string[], opts?: Parameters<typeof secretd>[2]) => secretd(t.host, args, opts);
    const compose = (labels = 'team: core') => {
      writeFileSync(
        join(dir, 'compose.yml'),
        `version: "3.8"
secrets:
  db:
    file: ./db_password.txt
    labels: { ${labels} }
  api_key:
    environment: STACK_TEST_API_KEY
  shared:
    name: \${SHARED_PREFIX:-${stack}}_shared
    file: db_password.txt
    template_driver: golang
  pre:
    external: true
    name: ${pre}
`,
      );
    };
    const deploy = () => cli(['stack', 'deploy', '-c', join(dir, 'compose.yml'), stack], { env: { STACK_TEST_API_KEY: 'k3y' } });

    before(async () => {
      t = await target.open();
      mkdirSync(dir);
      writeFileSync(join(dir, 'db_password.txt'), 'pa55\n');
      compose();
    });
    after(async () => {
      cli(['stack', 'rm', stack]);
      cli(['secret', 'rm', pre]);
      await t.close();
    });

    test('an external secret that does not exist stops the deploy before anything is created', () => {
      assert.deepEqual(deploy(), { status: 1, stdout: '', stderr: `secret not found: ${pre}\n` });
      assert.equal(ok(cli(['secret', 'ls', '-q', '--filter', `name=${stack}`]), 'ls'), '');
    });

    test('deploy creates each secret, stack-scoped unless name: is set, with the namespace label', () => {
      ok(cli(['secret', 'create', pre, '-'], { input: 'made before' }), 'create external');
      assert.equal(ok(deploy(), 'deploy'), `Creating secret ${stack}_db\nCreating secret ${stack}_api_key\nCreating secret ${stack}_shared\n`);
      const all = JSON.parse(ok(cli(['secret', 'inspect', `${stack}_db`, `${stack}_api_key`, `${stack}_shared`, pre]), 'inspect')) as Inspected[];
      assert.deepEqual(all[0]!.Spec.Labels, { team: 'core', 'com.docker.stack.namespace': stack });
      assert.deepEqual(all[1]!.Spec.Labels, { 'com.docker.stack.namespace': stack });
      assert.equal(all[2]!.Spec.Templating?.Name, 'golang');
      assert.deepEqual(all[3]!.Spec.Labels ?? {}, {}, 'the external secret is left alone');
    });

    test('re-running with the same values updates in place and succeeds', () => {
      assert.equal(ok(deploy(), 'deploy again'), `Updating secret ${stack}_db\nUpdating secret ${stack}_api_key\nUpdating secret ${stack}_shared\n`);
    });

    test('changed labels are applied on the next deploy', () => {
      compose('team: platform, tier: db');
      ok(deploy(), 'deploy with new labels');
      const [db] = JSON.parse(ok(cli(['secret', 'inspect', `${stack}_db`]), 'inspect')) as Inspected[];
      assert.deepEqual(db!.Spec.Labels, { team: 'platform', tier: 'db', 'com.docker.stack.namespace': stack });
    });

    test('a changed value is refused by the daemon as Swarm refuses it, exit 1', () => {
      writeFileSync(join(dir, 'db_password.txt'), 'changed\n');
      const r = deploy();
      writeFileSync(join(dir, 'db_password.txt'), 'pa55\n');
      assert.equal(r.status, 1);
      assert.equal(r.stdout, `Updating secret ${stack}_db\n`);
      assert.equal(
        r.stderr,
        `failed to update secret ${stack}_db: Error response from daemon: rpc error: code = InvalidArgument desc = only updates to Labels are allowed\n`,
      );
    });

    test('a compose file with a wrong field is refused with its path, exit 1', () => {
      writeFileSync(join(dir, 'bad.yml'), 'secrets:\n  db:\n    fille: x\n');
      assert.deepEqual(cli(['stack', 'deploy', '-c', join(dir, 'bad.yml'), stack]), {
        status: 1,
        stdout: '',
        stderr: 'secrets.db Additional property fille is not allowed\n',
      });
    });

    test('stack rm removes every secret of the stack and nothing else; again, it finds nothing', () => {
      const r = cli(['stack', 'rm', stack]);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, [`${stack}_api_key`, `${stack}_db`, `${stack}_shared`].map((n) => `Removing secret ${n}\n`).join(''));
      assert.equal(
        ok(cli(['secret', 'ls', '-q', '--filter', `name=${pre}`]), 'ls')
          .trim()
          .split('\n').length,
        1,
      );
      assert.deepEqual(cli(['stack', 'rm', stack]), { status: 0, stdout: '', stderr: `Nothing found in stack: ${stack}\n` });
    });
  });
}

const ref = referenceDockerd();
describe('secretd stack deploy matches docker stack deploy on the reference dockerd', { skip: 'skip' in ref ? ref.skip : false }, () => {
  const host = 'host' in ref ? ref.host : '';
  const stack = uniquePrefix('cmp');
  const dir = join(scratch, stack);

  // The docker CLI's own compose schema (v3) has no `environment:` source, so the file sticks
  // to what both accept.
  before(async () => {
    mkdirSync(dir);
    writeFileSync(join(dir, 'v.txt'), 'value\n');
    writeFileSync(
      join(dir, 'compose.yml'),
      `version: "3.8"
secrets:
  a: { file: ./v.txt, labels: [x=1, y] }
  b: { file: v.txt, template_driver: golang, labels: { z: "2" } }
  c: { name: ${stack}_custom, file: v.txt }
`,
    );
  });
  after(() => {
    docker(host, ['stack', 'rm', stack]);
    secretd(host, ['stack', 'rm', stack]);
  });

  const specs = (): Inspected['Spec'][] => {
    const names = [`${stack}_a`, `${stack}_b`, `${stack}_custom`];
    return (JSON.parse(ok(secretd(host, ['secret', 'inspect', ...names]), 'inspect')) as Inspected[]).map((s) => s.Spec);
  };

  test('both create the same specs, each one’s stack rm removes the other’s secrets', () => {
    const theirs = docker(host, ['stack', 'deploy', '-c', join(dir, 'compose.yml'), stack]);
    assert.equal(theirs.status, 0, theirs.stderr);
    const created = (out: string) =>
      out
        .split('\n')
        .filter((l) => l.startsWith('Creating secret'))
        .sort();
    const dockerSpecs = specs();
    assert.equal(
      ok(secretd(host, ['stack', 'rm', stack]), 'secretd stack rm')
        .split('\n')
        .filter(Boolean).length,
      3,
    );

    const ours = ok(secretd(host, ['stack', 'deploy', '-c', join(dir, 'compose.yml'), stack]), 'secretd stack deploy');
    assert.deepEqual(created(ours), created(theirs.stdout));
    assert.deepEqual(specs(), dockerSpecs);
    const removed = docker(host, ['stack', 'rm', stack]);
    assert.equal(removed.status, 0, removed.stderr);
    assert.deepEqual(
      removed.stdout.trim().split('\n').sort(),
      [`${stack}_a`, `${stack}_b`, `${stack}_custom`].map((n) => `Removing secret ${n}`),
    );
  });

  test('both accept a re-run with the same values and refuse a changed one with the same message', () => {
    ok(secretd(host, ['stack', 'deploy', '-c', join(dir, 'compose.yml'), stack]), 'first deploy');
    assert.equal(docker(host, ['stack', 'deploy', '-c', join(dir, 'compose.yml'), stack]).status, 0);
    writeFileSync(join(dir, 'v.txt'), 'other\n');
    const theirs = docker(host, ['stack', 'deploy', '-c', join(dir, 'compose.yml'), stack]);
    const ours = secretd(host, ['stack', 'deploy', '-c', join(dir, 'compose.yml'), stack]);
    assert.equal(theirs.status, 1);
    assert.equal(ours.status, 1);
    const failure = (stderr: string) =>
      stderr
        .split('\n')
        .find((l) => l.startsWith('failed to update secret'))
        ?.replace(/secret \S+:/, 'secret X:');
    assert.equal(failure(ours.stderr), failure(theirs.stderr));
  });
});
