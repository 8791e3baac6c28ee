/**
 * secretd as a Docker plugin for a real dockerd (a private reference instance, see
 * test/helpers/private-dockerd.ts): its socket in /run/docker/plugins under a name unique to
 * this run, where dockerd 20.10 discovers it. As a secret provider for a real Swarm (services
 * and `docker stack deploy` whose secrets name the plugin as driver) and as a volume driver for
 * `docker run` and docker-compose, with the values checked byte for byte inside containers.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { docker, ok, secretd } from '../helpers/cli.ts';
import { startDaemon, type Daemon } from '../helpers/daemon.ts';
import { busyboxImage, privateDockerd, until } from '../helpers/private-dockerd.ts';
import { commandMissing } from '../helpers/tools.ts';
import { startPlugin, type FixturePlugin } from '../fixtures/plugins/start.ts';
import { spawnSync } from 'node:child_process';

const scratch = mkdtempSync(join(tmpdir(), 'secretd-plugin-docker-'));
const u = randomBytes(5).toString('hex');
/** Unique to this run: parallel runs and earlier runs never meet in dockerd's plugin table. */
const PLUGIN = `secretd-${u}`;
const SOCKET = `/run/docker/plugins/${PLUGIN}.sock`;

const ref = privateDockerd();
const refHost = 'host' in ref ? ref.host : '';
const image = 'host' in ref ? busyboxImage(refHost) : ref;
const skip = 'skip' in ref ? ref.skip : 'skip' in image ? image.skip : false;
const tag = 'tag' in image ? image.tag : '';

/** A value with every byte from 0 to 255, then random ones: any text mangling shows. */
const BINARY = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), randomBytes(300)]);

interface AuditLine {
  action: string;
  secret: { id?: string; name?: string; ref?: string };
  task?: string;
  service?: string;
  node?: string;
  volume?: string;
  version?: number;
  result: string;
}

describe('secretd serving Docker plugin protocols to a real dockerd', { skip }, () => {
  let daemon: Daemon;
  const cleanup: string[][] = [];
  const stoppedDirs: string[] = [];
  const audit = (): AuditLine[] =>
    readFileSync(join(daemon.dataRoot, 'audit.log'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as AuditLine);
  const onSecretd = (args: string[], input?: string | Buffer) =>
    ok(docker(daemon.host, args, input === undefined ? {} : { input }), `secretd: docker ${args.join(' ')}`);
  const onRef = (args: string[]) => ok(docker(refHost, args), `dockerd: docker ${args.join(' ')}`);
  const folder = (name: string) => {
    const dir = join(scratch, name);
    mkdirSync(dir, { recursive: true });
    return dir;
  };
  /** The task's state and error, for messages and for waiting on a failure. */
  const tasks = (service: string) =>
    docker(refHost, ['service', 'ps', '--no-trunc', '--format', '{{.ID}} {{.CurrentState}} {{.Error}}', service]).stdout.trim();

  /** A secret-provider plugin secretd itself uses as a driver (in a folder dockerd never looks in). */
  let fixture: FixturePlugin;
  const fixtureName = `fx-${u}`;
  const daemonArgs = () => ['--plugin-listen', SOCKET, '--plugin-allow', `app.${u}.*`, '--plugin-dir', join(scratch, 'drivers')];
  before(async () => {
    mkdirSync(join(scratch, 'drivers'), { recursive: true });
    fixture = await startPlugin({ unix: join(scratch, 'drivers', `${fixtureName}.sock`) });
    daemon = await startDaemon({ args: daemonArgs() });
  });
  after(async () => {
    // Each step runs whatever the one before did: a failed clean-up must leave no process behind.
    try {
      for (const args of cleanup.reverse()) docker(refHost, args);
    } finally {
      await daemon?.dispose().catch(() => {});
      await fixture?.stop().catch(() => {});
      for (const dir of stoppedDirs) rmSync(dir, { recursive: true, force: true });
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  test('a service gets the exact bytes by the same name, by label, and templated with its service and task', async () => {
    const [bin, target, tmpl] = [`app.${u}.bin`, `app.${u}.target`, `app.${u}.tmpl`];
    writeFileSync(join(scratch, 'bin'), BINARY);
    onSecretd(['secret', 'create', bin, join(scratch, 'bin')]);
    onSecretd(['secret', 'create', target, '-'], 'found by label');
    writeFileSync(join(scratch, 'tmpl'), 'svc={{.Service.Name}} task={{.Task.Name}} slot={{.Task.Slot}}');
    onSecretd(['secret', 'create', '--template-driver', 'golang', tmpl, join(scratch, 'tmpl')]);
    const labelled = `lbl-${u}`;
    onRef(['secret', 'create', '--driver', PLUGIN, bin]);
    onRef(['secret', 'create', '--driver', PLUGIN, '--label', `com.secretd.secret=${target}`, labelled]);
    onRef(['secret', 'create', '--driver', PLUGIN, tmpl]);
    const service = `svc-${u}`;
    const out = folder('service-out');
    onRef([
      'service',
      'create',
      '--detach',
      '--name',
      service,
      '--restart-condition',
      'none',
      '--mount',
      `type=bind,src=${out},dst=/out`,
      '--secret',
      `source=${bin},target=bin`,
      '--secret',
      `source=${labelled},target=label`,
      '--secret',
      `source=${tmpl},target=tmpl`,
      tag,
      '/bin/sh',
      '-c',
      'cp /run/secrets/bin /run/secrets/label /run/secrets/tmpl /out/ && touch /out/done',
    ]);
    cleanup.push(['secret', 'rm', bin, labelled, tmpl], ['service', 'rm', service]);
    await until(
      () => (existsSync(join(out, 'done')) ? true : undefined),
      120_000,
      () => `the task to finish: ${tasks(service)}\n${daemon.logs.slice(-2000)}`,
    );
    assert.deepEqual(readFileSync(join(out, 'bin')), BINARY);
    assert.equal(readFileSync(join(out, 'label'), 'utf8'), 'found by label');
    const [taskId] = tasks(service).split(' ');
    const nodeId = onRef(['info', '--format', '{{.Swarm.NodeID}}']).trim();
    assert.equal(readFileSync(join(out, 'tmpl'), 'utf8'), `svc=${service} task=${service}.1.${taskId} slot=1`);
    const lines = audit().filter((l) => l.action === 'secret.deliver' && l.service === service);
    assert.deepEqual(
      lines.map((l) => [l.secret.name, l.task, l.node, l.result]).sort(),
      [bin, target, tmpl].sort().map((name) => [name, taskId, nodeId, 'ok']),
      'one audit line per GetSecret, naming service, task, node and secret',
    );
    const log = readFileSync(join(daemon.dataRoot, 'audit.log'));
    assert.ok(!log.includes(BINARY.subarray(256, 300)) && !log.includes('found by label'), 'no value in the audit log');
  });

  test("DoNotReuse from the secret's driver makes swarmkit ask once per task, and the driver sees each task", async () => {
    const name = `app.${u}.fresh`;
    onSecretd(['secret', 'create', '--driver', fixtureName, '--label', 'fixture.do-not-reuse=true', name]);
    onRef(['secret', 'create', '--driver', PLUGIN, name]);
    const service = `fresh-${u}`;
    const out = folder('fresh-out');
    onRef([
      'service',
      'create',
      '--detach',
      '--name',
      service,
      '--restart-condition',
      'none',
      '--replicas',
      '2',
      '--hostname',
      '{{.Task.Slot}}',
      '--mount',
      `type=bind,src=${out},dst=/out`,
      '--secret',
      `source=${name},target=fresh`,
      tag,
      '/bin/sh',
      '-c',
      'h=$(cat /etc/hostname) && cp /run/secrets/fresh /out/$h && touch /out/$h.done',
    ]);
    cleanup.push(['secret', 'rm', name], ['service', 'rm', service]);
    await until(
      () => (readdirSync(out).filter((f) => f.endsWith('.done')).length === 2 ? true : undefined),
      120_000,
      () => `both tasks: ${tasks(service)}`,
    );
    const taskIds = new Set(
      tasks(service)
        .split('\n')
        .map((l) => l.split(' ')[0]!),
    );
    const values = ['1', '2'].map((slot) => readFileSync(join(out, slot), 'utf8'));
    for (const [i, v] of values.entries()) {
      const m = new RegExp(`^value-of-${name.replaceAll('.', '\\.')}@${service}\\.${i + 1}\\.([a-z0-9]{25})$`).exec(v);
      assert.ok(m && taskIds.has(m[1]!), `slot ${i + 1} got its own task's value: ${v}`);
    }
    assert.notEqual(values[0], values[1]);
    assert.equal(audit().filter((l) => l.service === service && l.result === 'ok').length, 2, 'one GetSecret per task');
  });

  test('a secret outside --plugin-allow never reaches a task: the task fails and the audit says not_found', async () => {
    const outside = `other-${u}`;
    onSecretd(['secret', 'create', outside, '-'], 'must stay inside');
    onRef(['secret', 'create', '--driver', PLUGIN, outside]);
    const service = `denied-${u}`;
    const out = folder('denied-out');
    onRef([
      'service',
      'create',
      '--detach',
      '--name',
      service,
      '--restart-condition',
      'none',
      '--mount',
      `type=bind,src=${out},dst=/out`,
      '--secret',
      outside,
      tag,
      '/bin/sh',
      '-c',
      `cp /run/secrets/${outside} /out/ ; touch /out/ran`,
    ]);
    cleanup.push(['secret', 'rm', outside], ['service', 'rm', service]);
    const state = await until(
      () => (/(Failed|Rejected)/.test(tasks(service)) ? tasks(service) : undefined),
      120_000,
      () => `the task to fail: ${tasks(service)}`,
    );
    assert.match(state, /secret/);
    assert.deepEqual(readdirSync(out), [], 'the container never ran with it');
    const lines = audit().filter((l) => l.service === service);
    assert.ok(lines.length >= 1);
    for (const l of lines) assert.deepEqual([l.secret.ref, l.result], [outside, 'not_found']);
  });

  test('docker stack deploy with a compose file whose secret says driver: the plugin deploys, and its task reads the value', async () => {
    const name = `app.${u}.stack`;
    onSecretd(['secret', 'create', name, '-'], 'from the stack');
    const out = folder('stack-out');
    const stack = `st${u}`;
    const compose = join(scratch, 'stack.yml');
    writeFileSync(
      compose,
      [
        'version: "3.8"',
        'services:',
        '  app:',
        `    image: ${tag}`,
        '    command: ["/bin/sh", "-c", "cp /run/secrets/db /out/db && touch /out/done"]',
        '    secrets: [{source: db, target: db}]',
        `    volumes: [{type: bind, source: ${out}, target: /out}]`,
        '    deploy: {restart_policy: {condition: none}}',
        'secrets:',
        '  db:',
        `    name: ${name}`,
        `    driver: ${PLUGIN}`,
        '',
      ].join('\n'),
    );
    onRef(['stack', 'deploy', '-c', compose, stack]);
    cleanup.push(['secret', 'rm', name], ['stack', 'rm', stack]);
    await until(
      () => (existsSync(join(out, 'done')) ? true : undefined),
      120_000,
      () => `the stack's task: ${tasks(`${stack}_app`)}`,
    );
    assert.equal(readFileSync(join(out, 'db'), 'utf8'), 'from the stack');
    assert.deepEqual(onRef(['secret', 'inspect', '--format', '{{.Spec.Driver.Name}}', name]).trim(), PLUGIN);
  });

  test('after secretd secret rotate, docker service update --force gives the next task the new value; a label-pinned secret keeps version 1', async () => {
    const name = `app.${u}.rotated`;
    onSecretd(['secret', 'create', name, '-'], 'rotated-v1');
    const out = folder('rotate-out');
    const stack = `rt${u}`;
    const compose = join(scratch, 'rotate-stack.yml');
    const composeText = [
      'version: "3.8"',
      'services:',
      '  app:',
      `    image: ${tag}`,
      '    hostname: "{{.Task.ID}}"',
      '    command: ["/bin/sh", "-c", "h=$$(cat /etc/hostname) && cp /run/secrets/db /out/$$h.db ' +
        '&& cp /run/secrets/pinned /out/$$h.pinned && touch /out/$$h.done && sleep 600"]',
      '    secrets: [{source: db, target: db}, {source: pinned, target: pinned}]',
      `    volumes: [{type: bind, source: ${out}, target: /out}]`,
      '    deploy: {restart_policy: {condition: none}}',
      'secrets:',
      '  db:',
      `    name: ${name}`,
      `    driver: ${PLUGIN}`,
      '  pinned:',
      `    name: pin-${u}`,
      `    driver: ${PLUGIN}`,
      `    labels: {com.secretd.secret: ${name}, com.secretd.version: "1"}`,
      '',
    ].join('\n');
    writeFileSync(compose, composeText);
    onRef(['stack', 'deploy', '-c', compose, stack]);
    const service = `${stack}_app`;
    cleanup.push(['secret', 'rm', name, `pin-${u}`], ['stack', 'rm', stack]);
    const done = () =>
      readdirSync(out)
        .filter((f) => f.endsWith('.done'))
        .map((f) => f.slice(0, -'.done'.length));
    const [first] = await until(
      () => (done().length === 1 ? done() : undefined),
      120_000,
      () => `the first task: ${tasks(service)}\n${daemon.logs.slice(-2000)}`,
    );
    assert.equal(readFileSync(join(out, `${first}.db`), 'utf8'), 'rotated-v1');
    const secretsBefore = onRef(['service', 'inspect', '--format', '{{json .Spec.TaskTemplate.ContainerSpec.Secrets}}', service]);

    assert.equal(ok(secretd(daemon.host, ['secret', 'rotate', name, '-'], { input: 'rotated-v2' }), 'secretd secret rotate'), '2\n');
    onRef(['service', 'update', '--force', '--detach', service]);
    const second = await until(
      () => done().find((t) => t !== first),
      120_000,
      () => `the next task: ${tasks(service)}\n${daemon.logs.slice(-2000)}`,
    );
    assert.equal(readFileSync(join(out, `${second}.db`), 'utf8'), 'rotated-v2', 'the next task has the new value');
    assert.equal(readFileSync(join(out, `${second}.pinned`), 'utf8'), 'rotated-v1', 'the pinned secret still has version 1');
    assert.equal(readFileSync(compose, 'utf8'), composeText);
    assert.equal(
      onRef(['service', 'inspect', '--format', '{{json .Spec.TaskTemplate.ContainerSpec.Secrets}}', service]),
      secretsBefore,
      'same secrets, same names',
    );
    const lines = audit().filter((l) => l.action === 'secret.deliver' && l.service === service && l.secret.name === name);
    assert.deepEqual(
      lines.map((l) => [l.task, l.version, l.result]).sort(),
      [
        [first, 1, 'ok'],
        [first, 1, 'ok'],
        [second, 1, 'ok'],
        [second, 2, 'ok'],
      ].sort(),
    );
  });

  test("a running container's volume shows a rotation within seconds, and a reader looping in it sees only a whole old or a whole new value", async (t) => {
    const name = `app.${u}.live`;
    const size = 120_000;
    onSecretd(['secret', 'create', name, '-'], 'A'.repeat(size));
    const out = folder('live-out');
    const vol = `live-${u}`;
    const container = `live-${u}`;
    // Each read is copied out whole, then judged by size and content: a file rewritten in
    // place would be caught short or mixed.
    const reader = [
      'n=0; seen=0; while [ ! -e /out/stop ]; do',
      '  cat /run/secrets/v > /r; s=$(stat -c %s /r)',
      `  if [ "$s" = ${size} ] && grep -q '^A*$' /r; then :`,
      `  elif [ "$s" = ${size} ] && grep -q '^B*$' /r; then [ $seen = 0 ] && touch /out/seen; seen=1`,
      '  else cp /r /out/bad.$n; fi',
      '  n=$((n+1)); [ $n = 1 ] && touch /out/started',
      'done; echo $n > /out/count',
    ].join('\n');
    onRef([
      'run',
      '-d',
      '--name',
      container,
      '--network',
      'none',
      '--mount',
      `type=bind,src=${out},dst=/out`,
      '--mount',
      mountOpts(vol, `volume-opt=secret=${name}:v`),
      tag,
      '/bin/sh',
      '-c',
      reader,
    ]);
    cleanup.push(['volume', 'rm', '-f', vol], ['rm', '-f', container]);
    await until(
      () => (existsSync(join(out, 'started')) ? true : undefined),
      60_000,
      () => `the reader to start: ${docker(refHost, ['logs', container]).stderr}`,
    );
    // The container's own mount is read-only by itself (a bind made while the tmpfs was): the
    // moments a refresh makes the tmpfs writable on the host do not reach into the container.
    const own = onRef(['exec', container, 'grep', ' /run/secrets ', '/proc/self/mountinfo']).split(' ');
    assert.match(own[5] ?? '', /^ro,/, `the container's mount options: ${own.join(' ')}`);
    const rotated = Date.now();
    ok(secretd(daemon.host, ['secret', 'rotate', name, '-'], { input: 'B'.repeat(size) }), 'secretd secret rotate');
    await until(
      () => (existsSync(join(out, 'seen')) ? true : undefined),
      15_000,
      () => `the new value in the container\n${daemon.logs.slice(-2000)}`,
    );
    const delay = Date.now() - rotated;
    // Let the reader go on for a while with the new value, then stop it.
    const before = readdirSync(out).length;
    writeFileSync(join(out, 'stop'), '');
    const count = Number(
      await until(
        () => (existsSync(join(out, 'count')) ? readFileSync(join(out, 'count'), 'utf8').trim() || undefined : undefined),
        60_000,
        () => 'the reader to stop',
      ),
    );
    t.diagnostic(`${count} reads in the container; the new value seen ${delay} ms after rotate was started`);
    assert.deepEqual(
      readdirSync(out).filter((f) => f.startsWith('bad.')),
      [],
      'no read saw a partial or mixed value',
    );
    assert.ok(before >= 2 && count > 10, `the reader ran: ${count} reads`);
    assert.ok(delay < 10_000, `within seconds (${delay} ms, the CLI's start included)`);
  });

  /** Where the volume's tmpfs is on the host, and whether one is mounted there now. */
  const volumeDir = (vol: string) => join(daemon.dataRoot, 'volumes', vol);
  const tmpfsMounted = (dir: string) =>
    readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .some((l) => l.split(' ')[4] === dir && / - tmpfs secretd /.test(l));
  const mountOpts = (vol: string, opts: string) => `type=volume,volume-driver=${PLUGIN},src=${vol},dst=/run/secrets,${opts}`;

  test('docker run with the volume gets each file with the uid, gid and mode asked, on a read-only tmpfs, gone after removal', async () => {
    const [db, key] = [`app.${u}.db_password`, `app.${u}.api_key`];
    onSecretd(['secret', 'create', db, '-'], 'db-pass');
    writeFileSync(join(scratch, 'key'), BINARY);
    onSecretd(['secret', 'create', key, join(scratch, 'key')]);
    const vol = `vol-${u}`;
    const out = folder('volume-out');
    const run = docker(refHost, [
      'run',
      '--rm',
      '--network',
      'none',
      '--mount',
      `type=bind,src=${out},dst=/out`,
      '--mount',
      mountOpts(vol, `"volume-opt=secret=${db}:db.txt,${key}",volume-opt=uid=1000,volume-opt=gid=1000,volume-opt=mode=0440`),
      tag,
      '/bin/sh',
      '-c',
      'stat -c "%n %u %g %a" /run/secrets/* > /out/stat; grep " /run/secrets " /proc/mounts > /out/mounts; ' +
        'cp /run/secrets/* /out/; touch /run/secrets/x 2> /out/write; true',
    ]);
    cleanup.push(['volume', 'rm', '-f', vol]);
    assert.equal(run.status, 0, `docker run: ${run.stderr}\n${daemon.logs.slice(-2000)}`);
    assert.equal(readFileSync(join(out, 'stat'), 'utf8'), `/run/secrets/${key} 1000 1000 440\n/run/secrets/db.txt 1000 1000 440\n`);
    assert.match(readFileSync(join(out, 'mounts'), 'utf8'), /^secretd \/run\/secrets tmpfs ro,/);
    assert.match(readFileSync(join(out, 'write'), 'utf8'), /Read-only file system/);
    assert.equal(readFileSync(join(out, 'db.txt'), 'utf8'), 'db-pass');
    assert.deepEqual(readFileSync(join(out, key)), BINARY);
    // The container is gone: dockerd said Unmount, the last one, so the tmpfs is gone too.
    assert.equal(tmpfsMounted(volumeDir(vol)), false);
    assert.equal(existsSync(volumeDir(vol)), false);
    assert.equal(onRef(['volume', 'inspect', '--format', '{{.Driver}} {{.Scope}} {{.Status.Secrets}}', vol]).trim(), `${PLUGIN} local ${db}:db.txt,${key}`);
    onRef(['volume', 'rm', vol]);
    assert.ok(!onRef(['volume', 'ls', '--format', '{{.Name}}']).split('\n').includes(vol));
    assert.ok(!readFileSync(join(daemon.dataRoot, 'plugin-volumes.json'), 'utf8').includes(vol));
    const lines = audit().filter((l) => l.volume === vol);
    assert.deepEqual(
      lines.map((l) => [l.secret.name, l.result]),
      [
        [db, 'ok'],
        [key, 'ok'],
      ],
    );
  });

  test("defaults are Swarm's (uid 0, gid 0, mode 0444); a refused secret fails docker run with a message naming it", () => {
    const name = `app.${u}.defaults`;
    onSecretd(['secret', 'create', name, '-'], 'defaults');
    const vol = `def-${u}`;
    const r = ok(
      docker(refHost, [
        'run',
        '--rm',
        '--network',
        'none',
        '--mount',
        mountOpts(vol, `volume-opt=secret=${name}`),
        tag,
        'stat',
        '-c',
        '%u %g %a',
        `/run/secrets/${name}`,
      ]),
      'run',
    );
    cleanup.push(['volume', 'rm', '-f', vol]);
    assert.equal(r, '0 0 444\n');
    const refused = `ref-${u}`;
    const outside = `outside-${u}`;
    onSecretd(['secret', 'create', outside, '-'], 'outside');
    const denied = docker(refHost, ['run', '--rm', '--network', 'none', '--mount', mountOpts(refused, `"volume-opt=secret=${name},${outside}"`), tag, 'true']);
    cleanup.push(['volume', 'rm', '-f', refused]);
    assert.notEqual(denied.status, 0);
    assert.match(denied.stderr, new RegExp(`secret ${outside} not found`));
    assert.equal(existsSync(volumeDir(refused)), false, 'nothing mounted for a refused volume');
  });

  test('a restart of secretd while a volume is mounted: the container keeps its files, and the new daemon unmounts at the last Unmount', async () => {
    const name = `app.${u}.restart`;
    onSecretd(['secret', 'create', name, '-'], 'survives a restart');
    const vol = `rst-${u}`;
    const container = `c-${u}`;
    onRef(['run', '-d', '--name', container, '--network', 'none', '--mount', mountOpts(vol, `volume-opt=secret=${name}:v`), tag, 'sleep', '600']);
    cleanup.push(['volume', 'rm', '-f', vol], ['rm', '-f', container]);
    assert.equal(onRef(['exec', container, 'cat', '/run/secrets/v']), 'survives a restart');
    assert.equal(tmpfsMounted(volumeDir(vol)), true);
    const dataRoot = daemon.dataRoot;
    assert.equal(await daemon.stop(), 0);
    assert.equal(tmpfsMounted(join(dataRoot, 'volumes', vol)), true, 'a stop leaves the tmpfs mounted');
    const first = daemon;
    daemon = await startDaemon({ dataRoot, args: daemonArgs() });
    assert.equal(onRef(['exec', container, 'cat', '/run/secrets/v']), 'survives a restart');
    assert.equal(onRef(['volume', 'inspect', '--format', '{{.Status.Mounts}}', vol]).trim(), '1');
    const deliveries = audit().filter((l) => l.volume === vol).length;
    onRef(['rm', '-f', container]);
    await until(
      () => (tmpfsMounted(join(dataRoot, 'volumes', vol)) ? undefined : true),
      30_000,
      () => 'the tmpfs to be unmounted',
    );
    onRef(['volume', 'rm', vol]);
    assert.equal(existsSync(join(dataRoot, 'volumes', vol)), false);
    assert.equal(audit().filter((l) => l.volume === vol).length, deliveries, 'the restart resolved nothing again');
    // The first daemon's folder holds the data root the second one uses: removed last.
    stoppedDirs.push(first.dir);
  });

  test("docker-compose (Debian's) with a volume whose driver is the plugin and driver_opts", {
    skip: commandMissing(['docker-compose'], 'docker-compose'),
  }, () => {
    const name = `app.${u}.compose`;
    onSecretd(['secret', 'create', name, '-'], 'from compose');
    const dir = folder('compose');
    const project = `cp${u}`;
    writeFileSync(
      join(dir, 'docker-compose.yml'),
      [
        'version: "3.7"',
        'services:',
        '  app:',
        `    image: ${tag}`,
        '    network_mode: none',
        '    command: ["/bin/sh", "-c", "stat -c \'%u %g %a\' /run/secrets/db.txt && cat /run/secrets/db.txt"]',
        '    volumes: ["creds:/run/secrets"]',
        'volumes:',
        '  creds:',
        `    driver: ${PLUGIN}`,
        '    driver_opts:',
        `      secret: "${name}:db.txt"`,
        '      uid: "1000"',
        '      mode: "0400"',
        '',
      ].join('\n'),
    );
    const compose = (args: string[]) =>
      spawnSync('docker-compose', ['-p', project, ...args], { cwd: dir, encoding: 'utf8', timeout: 120_000, env: { ...process.env, DOCKER_HOST: refHost } });
    try {
      const r = compose(['run', '--rm', 'app']);
      assert.equal(r.status, 0, `docker-compose run: ${r.stderr}`);
      assert.equal(r.stdout, '1000 0 400\nfrom compose');
    } finally {
      const down = compose(['down', '-v']);
      assert.equal(down.status, 0, down.stderr);
    }
    assert.equal(existsSync(volumeDir(`${project}_creds`)), false);
  });
});

describe('a plugin socket without --plugin-allow, as dockerd meets it', { skip }, () => {
  test('docker secret create --driver and docker volume create fail at once, naming --plugin-allow', async () => {
    const name = `closed-${u}`;
    const daemon = await startDaemon({ args: ['--plugin-listen', `/run/docker/plugins/${name}.sock`] });
    try {
      const secret = docker(refHost, ['secret', 'create', '--driver', name, `s-${u}`]);
      assert.notEqual(secret.status, 0);
      assert.match(secret.stderr, /Plugin\.Activate: secretd serves no secrets on this plugin socket: start it with --plugin-allow PATTERN/);
      const volume = docker(refHost, ['volume', 'create', '--driver', name, '--opt', 'secret=x', `v-${u}`]);
      assert.notEqual(volume.status, 0);
      assert.match(volume.stderr, /--plugin-allow PATTERN/);
    } finally {
      docker(refHost, ['secret', 'rm', `s-${u}`]);
      await daemon.dispose();
    }
  });
});
