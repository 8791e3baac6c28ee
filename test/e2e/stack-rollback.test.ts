/**
 * `secretd stack deploy` against a real daemon, when the daemon refuses a secret half-way (a
 * driver it does not have): the secrets this run created are removed again and the labels it
 * changed put back, so a refused deploy leaves the daemon as it found it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ok, secretd } from '../helpers/cli.ts';
import { startDaemon, type Daemon } from '../helpers/daemon.ts';

const dir = mkdtempSync(join(tmpdir(), 'secretd-stack-rollback-'));
let daemon: Daemon;

before(async () => {
  daemon = await startDaemon();
  writeFileSync(join(dir, 'v.txt'), 'value');
});
after(async () => {
  await daemon.dispose();
  rmSync(dir, { recursive: true, force: true });
});

const deploy = (compose: string) => {
  writeFileSync(join(dir, 'compose.yml'), compose);
  return secretd(daemon.host, ['stack', 'deploy', '-c', join(dir, 'compose.yml'), 'app']);
};

const labelsOf = (name: string) =>
  (JSON.parse(ok(secretd(daemon.host, ['secret', 'inspect', name]), 'inspect')) as { Spec: { Labels: Record<string, string> } }[])[0]!.Spec.Labels;

test('a secret the daemon refuses undoes the creates and label updates before it', () => {
  ok(deploy('secrets:\n  kept:\n    file: ./v.txt\n    labels: { v: "1" }\n'), 'first deploy');

  const refused = deploy(
    'secrets:\n  kept:\n    file: ./v.txt\n    labels: { v: "2" }\n' +
      '  fresh:\n    file: ./v.txt\n  broken:\n    driver: no-such-driver\n  after:\n    file: ./v.txt\n',
  );
  assert.equal(refused.status, 1, refused.stderr);
  assert.equal(refused.stdout, 'Updating secret app_kept\nCreating secret app_fresh\nCreating secret app_broken\n');
  assert.match(refused.stderr, /failed to create secret app_broken: .*plugin "no-such-driver" not found; the 2 earlier change\(s\) of this deploy were undone/);

  const names = ok(secretd(daemon.host, ['secret', 'ls', '--format', 'json']), 'ls')
    .split('\n')
    .filter(Boolean)
    .map((l) => (JSON.parse(l) as { Name: string }).Name);
  assert.deepEqual(names, ['app_kept'], 'app_fresh was removed again, app_after never created');
  assert.equal(labelsOf('app_kept').v, '1', 'the label update was put back');
  assert.equal(labelsOf('app_kept')['com.docker.stack.namespace'], 'app');
});
