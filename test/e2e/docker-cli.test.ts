/**
 * The real docker CLI against secretd through DOCKER_HOST: what a user types and what they read.
 * Expected texts are the ones dockerd 20.10 gives the same CLI.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startDaemon, type Daemon } from '../helpers/daemon.ts';
import { dockerCliMissing } from '../helpers/tools.ts';

const ID = /^[a-z0-9]{25}$/;
const NOT_A_MANAGER =
  'Error response from daemon: This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.';

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

interface InspectedSecret {
  ID: string;
  Version: { Index: number };
  CreatedAt: string;
  UpdatedAt: string;
  Spec: { Name: string; Labels?: Record<string, string>; Data?: unknown };
}

/** A scratch folder for DOCKER_CONFIG and input files, so the user's docker config plays no part. */
const scratch = mkdtempSync(join(tmpdir(), 'secretd-cli-'));

function dockerEnv(host: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_HOST: host, DOCKER_CONFIG: join(scratch, 'config') };
  for (const name of ['DOCKER_CONTEXT', 'DOCKER_API_VERSION', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH', 'DOCKER_TLS']) delete env[name];
  return env;
}

function docker(daemon: Daemon, args: string[], input?: string | Buffer): Run {
  const res = spawnSync('docker', args, {
    env: dockerEnv(daemon.host),
    input,
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.equal(res.error, undefined, `could not run docker ${args.join(' ')}: ${String(res.error)}`);
  return { status: res.status, stdout: res.stdout, stderr: res.stderr };
}

/** Runs docker and asserts it succeeded, showing everything useful when it did not. */
function ok(daemon: Daemon, args: string[], input?: string | Buffer): string {
  const run = docker(daemon, args, input);
  assert.equal(
    run.status,
    0,
    `docker ${args.join(' ')} exited ${run.status}\nstdout: ${run.stdout}\nstderr: ${run.stderr}\n--- daemon logs ---\n${daemon.logs.slice(-4000)}`,
  );
  return run.stdout;
}

function lines(text: string): string[] {
  return text.split('\n').filter((l) => l !== '');
}

/** The CLI joins labels from a Go map, so their order varies between runs. */
function labelSet(joined: string): string[] {
  return joined === '' ? [] : joined.split(',').sort();
}

const skip = dockerCliMissing();

after(() => {
  rmSync(scratch, { recursive: true, force: true });
});

describe('docker CLI against secretd', { skip }, () => {
  let daemon: Daemon;

  before(async () => {
    daemon = await startDaemon();
  });

  after(async () => {
    await daemon?.dispose();
  });

  test('docker version reaches the server and reports API version 1.44', () => {
    const out = ok(daemon, ['version', '--format', '{{.Server.APIVersion}}|{{.Client.APIVersion}}']);
    assert.equal(out.trim(), '1.44|1.44');
  });

  test('docker secret create reads the data from stdin and prints the new ID', () => {
    const out = ok(daemon, ['secret', 'create', 'cli-stdin', '-'], 'from stdin\n');
    const [id, ...rest] = lines(out);
    assert.match(id ?? '', ID);
    assert.deepEqual(rest, []);
    const inspected = JSON.parse(ok(daemon, ['secret', 'inspect', 'cli-stdin'])) as InspectedSecret[];
    assert.equal(inspected.length, 1);
    assert.equal(inspected[0]?.ID, id);
    assert.deepEqual(inspected[0]?.Spec, { Name: 'cli-stdin', Labels: {} });
  });

  test('docker secret create --label reads a file and records every label', () => {
    const file = join(scratch, 'secret.bin');
    writeFileSync(file, Buffer.from([0xfb, 0xff, 0xbf, 0x00, 0x0a]));
    const id = ok(daemon, ['secret', 'create', '--label', 'env=prod', '--label', 'team=ops', '--label', 'flag', 'cli-file', file]).trim();
    assert.match(id, ID);
    const [secret] = JSON.parse(ok(daemon, ['secret', 'inspect', id])) as InspectedSecret[];
    assert.ok(secret);
    assert.deepEqual(secret.Spec, { Name: 'cli-file', Labels: { env: 'prod', team: 'ops', flag: '' } });
  });

  test('docker secret ls --filter name= lists only the matching secrets, with labels and JSON through --format', () => {
    ok(daemon, ['secret', 'create', '--label', 'a=1', '--label', 'b=2', 'cli-ls-one', '-'], 'one');
    ok(daemon, ['secret', 'create', 'cli-ls-two', '-'], 'two');
    ok(daemon, ['secret', 'create', '--label', 'a=3', 'cli-other', '-'], 'other');

    const rows = lines(ok(daemon, ['secret', 'ls', '--filter', 'name=cli-ls-', '--format', '{{.Name}} {{.Labels}}'])).sort();
    assert.equal(rows.length, 2, rows.join('\n'));
    const [one = '', two] = rows;
    assert.ok(one.startsWith('cli-ls-one '), one);
    assert.deepEqual(labelSet(one.slice('cli-ls-one '.length)), ['a=1', 'b=2']);
    assert.equal(two, 'cli-ls-two ');

    const objects = lines(ok(daemon, ['secret', 'ls', '--filter', 'name=cli-ls-one', '--format', '{{json .}}'])).map(
      (l) => JSON.parse(l) as Record<string, string>,
    );
    assert.equal(objects.length, 1);
    const [obj] = objects;
    assert.ok(obj);
    assert.equal(obj.Name, 'cli-ls-one');
    assert.match(obj.ID ?? '', ID);
    assert.deepEqual(labelSet(obj.Labels ?? ''), ['a=1', 'b=2']);
    assert.equal(obj.Driver, '');
    assert.match(obj.CreatedAt ?? '', /ago$/);
    assert.equal('Data' in obj, false);

    // Label filters and quiet output reach the same secrets.
    const quiet = lines(ok(daemon, ['secret', 'ls', '-q', '--filter', 'label=a'])).sort();
    const expected = lines(ok(daemon, ['secret', 'ls', '--filter', 'name=cli-ls-one', '--filter', 'name=cli-other', '--format', '{{.ID}}'])).sort();
    assert.equal(expected.length, 2);
    assert.deepEqual(quiet, expected);

    // The default table has dockerd's columns.
    const table = lines(ok(daemon, ['secret', 'ls', '--filter', 'name=cli-ls-two']));
    assert.match(table[0] ?? '', /^ID\s+NAME\s+DRIVER\s+CREATED\s+UPDATED\s*$/);
    assert.equal(table.length, 2);
    assert.match(table[1] ?? '', /^[a-z0-9]{25}\s+cli-ls-two\s+/);
  });

  test('docker secret inspect prints a JSON array with the spec, times and version, never the data', () => {
    const id = ok(daemon, ['secret', 'create', '--label', 'k=v', 'cli-inspect', '-'], 'shh').trim();
    const out = ok(daemon, ['secret', 'inspect', 'cli-inspect', id.slice(0, 8)]);
    assert.ok(!out.includes('"Data"'), out);
    assert.ok(!out.includes(Buffer.from('shh').toString('base64')), out);
    const parsed = JSON.parse(out) as InspectedSecret[];
    assert.equal(parsed.length, 2);
    for (const s of parsed) {
      assert.equal(s.ID, id);
      assert.deepEqual(s.Spec, { Name: 'cli-inspect', Labels: { k: 'v' } });
      assert.ok(Number.isInteger(s.Version.Index) && s.Version.Index > 0);
      assert.match(s.CreatedAt, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/);
      assert.equal(s.UpdatedAt, s.CreatedAt);
    }
    assert.equal(ok(daemon, ['secret', 'inspect', '--format', '{{.Spec.Name}}', id]).trim(), 'cli-inspect');

    const missing = docker(daemon, ['secret', 'inspect', 'cli-nothing']);
    assert.equal(missing.status, 1);
    assert.equal(missing.stdout.trim(), '[]');
    assert.equal(missing.stderr.trim(), 'Error response from daemon: secret cli-nothing not found');
  });

  test('docker secret inspect --pretty prints ID, name, labels and times', () => {
    const id = ok(daemon, ['secret', 'create', '--label', 'x=1', '--label', 'y=2', 'cli-pretty', '-'], 'p').trim();
    const out = ok(daemon, ['secret', 'inspect', '--pretty', 'cli-pretty']);
    const utc = String.raw`\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,9})? \+0000 (utc|UTC)`;
    assert.match(out, new RegExp(`^ID:\\s+${id}$`, 'm'));
    assert.match(out, /^Name:\s+cli-pretty$/m);
    assert.match(out, /^Labels:\n - x=1\n - y=2$/m);
    assert.match(out, new RegExp(`^Created at:\\s+${utc}$`, 'm'));
    assert.match(out, new RegExp(`^Updated at:\\s+${utc}$`, 'm'));
  });

  test('docker secret rm of several removes each and fails on the missing one', () => {
    const a = ok(daemon, ['secret', 'create', 'cli-rm-a', '-'], 'a').trim();
    ok(daemon, ['secret', 'create', 'cli-rm-b', '-'], 'b');
    ok(daemon, ['secret', 'create', 'cli-rm-kept', '-'], 'k');

    const run = docker(daemon, ['secret', 'rm', a, 'cli-rm-missing', 'cli-rm-b']);
    assert.equal(run.status, 1, `stdout: ${run.stdout}\nstderr: ${run.stderr}`);
    assert.deepEqual(lines(run.stdout), [a, 'cli-rm-b']);
    assert.equal(run.stderr.trim(), 'Error response from daemon: secret cli-rm-missing not found');

    assert.deepEqual(lines(ok(daemon, ['secret', 'ls', '--filter', 'name=cli-rm-', '--format', '{{.Name}}'])), ['cli-rm-kept']);
    const gone = docker(daemon, ['secret', 'inspect', 'cli-rm-a']);
    assert.equal(gone.status, 1);
    assert.equal(gone.stderr.trim(), 'Error response from daemon: secret cli-rm-a not found');

    // A name removed is free again.
    assert.match(ok(daemon, ['secret', 'create', 'cli-rm-a', '-'], 'again').trim(), ID);
  });

  test('docker secret create with a name already taken, in any case, fails with the AlreadyExists text', () => {
    ok(daemon, ['secret', 'create', 'cli-dup', '-'], 'one');
    const same = docker(daemon, ['secret', 'create', 'cli-dup', '-'], 'two');
    assert.equal(same.status, 1);
    assert.equal(same.stdout, '');
    assert.equal(same.stderr.trim(), 'Error response from daemon: rpc error: code = AlreadyExists desc = secret cli-dup already exists');

    const otherCase = docker(daemon, ['secret', 'create', 'CLI-Dup', '-'], 'three');
    assert.equal(otherCase.status, 1);
    assert.equal(otherCase.stderr.trim(), 'Error response from daemon: rpc error: code = AlreadyExists desc = secret CLI-Dup already exists');
    assert.deepEqual(lines(ok(daemon, ['secret', 'ls', '--filter', 'name=cli-dup', '--format', '{{.Name}}'])), ['cli-dup']);
  });
});

describe('docker swarm leave and init against secretd', { skip }, () => {
  let daemon: Daemon;

  before(async () => {
    daemon = await startDaemon();
  });

  after(async () => {
    await daemon?.dispose();
  });

  test('after docker swarm leave --force secret commands fail until docker swarm init, which starts empty', () => {
    ok(daemon, ['secret', 'create', 'before-leave', '-'], 'x');

    const plain = docker(daemon, ['swarm', 'leave']);
    assert.notEqual(plain.status, 0, 'a manager does not leave without --force');
    assert.match(plain.stderr, /You are attempting to leave the swarm on a node that is participating as a manager\./);

    assert.match(ok(daemon, ['swarm', 'leave', '--force']), /^Node left the swarm\.$/m);

    const ls = docker(daemon, ['secret', 'ls']);
    assert.equal(ls.status, 1);
    assert.equal(ls.stderr.trim(), NOT_A_MANAGER);
    const create = docker(daemon, ['secret', 'create', 'while-out', '-'], 'y');
    assert.equal(create.status, 1);
    assert.equal(create.stderr.trim(), NOT_A_MANAGER);

    const again = docker(daemon, ['swarm', 'leave', '--force']);
    assert.equal(again.status, 1);
    assert.equal(again.stderr.trim(), 'Error response from daemon: This node is not part of a swarm');

    const init = ok(daemon, ['swarm', 'init']);
    assert.match(init, /^Swarm initialized: current node \([a-z0-9]{25}\) is now a manager\.$/m);

    const second = docker(daemon, ['swarm', 'init']);
    assert.equal(second.status, 1);
    assert.equal(
      second.stderr.trim(),
      'Error response from daemon: This node is already part of a swarm. Use "docker swarm leave" to leave this swarm and join another one.',
    );

    // Leaving erased the old swarm's state; the new one works and starts without secrets.
    assert.deepEqual(lines(ok(daemon, ['secret', 'ls', '--format', '{{.Name}}'])), []);
    assert.match(ok(daemon, ['secret', 'create', 'after-init', '-'], 'z').trim(), ID);
    assert.deepEqual(lines(ok(daemon, ['secret', 'ls', '--format', '{{.Name}}'])), ['after-init']);
  });
});
