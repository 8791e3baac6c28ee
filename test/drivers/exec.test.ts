/**
 * The `exec` driver against real commands: Debian's `pass` on a throwaway GnuPG key, and small
 * `sh -c` helpers for timeouts, floods, stdin and the environment.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import execDriver, { EXEC_DRIVER, createExecDriver } from '../../drivers/exec.ts';
import type { DriverLog, SecretDriver, SecretRequest, StringMap } from '../../src/drivers/types.ts';
import { passMissing } from '../helpers/pass-store.ts';

/** The secret a create names, as validate receives it. */
const secret = (name = 'x') => ({ name, labels: {} });

const silent: DriverLog = { debug() {}, info() {}, warn() {}, error() {} };
const skipPass = passMissing();

const base = mkdtempSync(join(tmpdir(), 'secretd-exec-'));
const gnupgHome = join(base, 'gnupg');
const storeDir = join(base, 'store');
const text = (v: Uint8Array) => Buffer.from(v).toString('utf8');

function request(name: string, options: StringMap = {}, extra: Partial<SecretRequest> = {}): SecretRequest {
  return { SecretName: name, SecretLabels: {}, Options: options, ...extra };
}

function configured(settings: StringMap, log: DriverLog = silent): SecretDriver {
  const d = createExecDriver();
  d.init!({ settings, dataRoot: base, log });
  return d;
}

/** `sh -c SCRIPT` as the command: the key arrives as $1. */
const sh = (script: string, more: StringMap = {}): StringMap => ({ command: JSON.stringify(['sh', '-c', script, 'sh']), ...more });

/** Gone, or a zombie nobody reaped yet (a container's PID 1 may not reap): either way not running. */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

/** True once `pid` is gone (or a zombie), waiting up to 5 s: a SIGKILL takes effect a moment after it is sent. */
async function gone(pid: number): Promise<boolean> {
  const deadline = Date.now() + 5000;
  while (running(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
  return true;
}

function pids(file: string): number[] {
  return readFileSync(file, 'utf8').split(/\s+/).filter(Boolean).map(Number);
}

function run(cmd: string, args: string[], input?: string): void {
  const env = { ...process.env, GNUPGHOME: gnupgHome, PASSWORD_STORE_DIR: storeDir };
  const res = spawnSync(cmd, args, { env, input, encoding: 'utf8', timeout: 60_000 });
  assert.equal(res.status, 0, `${cmd} ${args.join(' ')} failed: ${res.stderr}`);
}

after(() => {
  if (!skipPass && existsSync(gnupgHome)) spawnSync('gpgconf', ['--kill', 'gpg-agent'], { env: { ...process.env, GNUPGHOME: gnupgHome } });
  rmSync(base, { recursive: true, force: true });
});

describe('exec driver with pass', { skip: skipPass }, () => {
  const saved = { GNUPGHOME: process.env.GNUPGHOME, PASSWORD_STORE_DIR: process.env.PASSWORD_STORE_DIR };
  const passSettings = { command: '["pass","show"]', env: 'GNUPGHOME,PASSWORD_STORE_DIR' };

  before(() => {
    mkdirSync(gnupgHome, { mode: 0o700 });
    chmodSync(gnupgHome, 0o700);
    run('gpg', ['--batch', '--passphrase', '', '--quick-gen-key', 'secretd test <t@example.invalid>', 'default', 'default', 'never']);
    run('pass', ['init', 't@example.invalid']);
    run('pass', ['insert', '-m', 'db/password'], 'correct horse battery staple\n');
    run('pass', ['insert', '-m', 'api-token'], 'tok_0123456789\n');
    run('pass', ['insert', '-m', 'multi/line'], 'line one\nline two\n\n');
    process.env.GNUPGHOME = gnupgHome;
    process.env.PASSWORD_STORE_DIR = storeDir;
  });

  after(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  test('returns the value pass stores under the option key, without its trailing newline', async () => {
    const d = configured(passSettings);
    await d.validate!({ key: 'db/password' }, secret());
    assert.equal(text((await d.get(request('db_password', { key: 'db/password' }))).value), 'correct horse battery staple');
  });

  test('uses the secret name as the key when no option key is given', async () => {
    const d = configured(passSettings);
    assert.equal(text((await d.get(request('api-token'))).value), 'tok_0123456789');
  });

  test('strips exactly one trailing newline, and none with trim=none', async () => {
    assert.equal(text((await configured(passSettings).get(request('multi/line'))).value), 'line one\nline two\n');
    assert.equal(text((await configured({ ...passSettings, trim: 'none' }).get(request('multi/line'))).value), 'line one\nline two\n\n');
  });

  test('fails cleanly on a missing entry, naming the key and not echoing stderr', async () => {
    const d = configured(passSettings);
    await assert.rejects(
      async () => d.get(request('no/such/entry')),
      (e: Error) => /^pass "no\/such\/entry": exited with code 1; stderr: \d+ bytes, not shown$/.test(e.message) && !e.message.includes('password store'),
    );
  });

  test('serves several gets at once', async () => {
    const d = configured(passSettings);
    const keys = ['db/password', 'api-token', 'db/password', 'api-token', 'db/password'];
    const values = await Promise.all(keys.map((k) => d.get(request('x', { key: k }))));
    assert.deepEqual(
      values.map((v) => text(v.value)),
      keys.map((k) => (k === 'api-token' ? 'tok_0123456789' : 'correct horse battery staple')),
    );
  });

  test('refuses option injection and path tricks in the key, at validate and at get', async () => {
    const d = configured(passSettings);
    for (const key of ['--help', '-c', '../x', 'db/../../x', 'db/./password', 'db/', '/etc/passwd', 'a b', 'a\0b', '', 'db//password', 'db/.gpg-id', '$(id)']) {
      await assert.rejects(async () => d.validate!({ key }, secret()), /^Error: /, `validate ${JSON.stringify(key)}`);
      await assert.rejects(async () => d.get(request('x', { key })), Error, `get ${JSON.stringify(key)}`);
    }
    await assert.rejects(async () => d.get(request('--clip')), /starts with "-"/);
    await assert.rejects(async () => d.validate!({ key: 'db/password', args: '--clip' }, secret()), /unknown option "args"/);
  });
});

describe('exec driver', () => {
  test('matches the secret driver interface', () => {
    assert.equal(execDriver.name, EXEC_DRIVER);
    assert.equal(execDriver.kind, 'secret');
    assert.equal(typeof execDriver.get, 'function');
  });

  test('refuses everything until command is set, saying how to set it', async () => {
    await assert.rejects(async () => execDriver.validate!({}, secret()), /not configured: start secretd with --driver-opt exec\.command=/);
    await assert.rejects(async () => configured({}).get(request('x')), /not configured/);
  });

  test('refuses bad settings at start', () => {
    assert.throws(() => configured({ command: '["pass",' }), /setting "command" is not a valid JSON array/);
    assert.throws(() => configured({ command: '[]' }), /non-empty JSON array/);
    assert.throws(() => configured({ command: '[1]' }), /non-empty JSON array/);
    assert.throws(() => configured({ command: 'true', timeout: '0' }), /setting "timeout" must be an integer/);
    assert.throws(() => configured({ command: 'true', timeout: '5s' }), /setting "timeout"/);
    assert.throws(() => configured({ command: 'true', 'max-bytes': '512000' }), /setting "max-bytes" must be an integer from 1 to 511999/);
    assert.throws(() => configured({ command: 'true', trim: 'all' }), /setting "trim"/);
    assert.throws(() => configured({ command: 'true', env: 'HOME,BAD-NAME' }), /setting "env": "BAD-NAME"/);
    assert.throws(() => configured({ command: 'true', shell: 'bash' }), /unknown setting "shell"/);
    assert.throws(() => configured({ timeout: '100' }), /given without "command"/);
  });

  test('runs a single executable path with the key as its only argument', async () => {
    const d = configured({ command: '/bin/echo' });
    assert.equal(text((await d.get(request('x', { key: 'hello@world' }))).value), 'hello@world');
  });

  test('writes the request as JSON on stdin', async () => {
    const d = configured(sh('cat; echo'));
    const req = request('db', { key: 'k1' }, { ServiceName: 'web', TaskID: 't1', SecretLabels: { a: 'b' } });
    assert.deepEqual(JSON.parse(text((await d.get(req)).value)), req);
  });

  test('gives the command PATH, the pass-through variables and the SECRETD_* fields only', async () => {
    process.env.SECRETD_T_PASSED = 'passed';
    process.env.SECRETD_T_HIDDEN = 'hidden';
    try {
      const d = configured(sh('env | sort | grep -v "^PWD=" | grep -v "^SHLVL=" | grep -v "^_="', { env: 'SECRETD_T_PASSED,SECRETD_T_UNSET' }));
      const req = request('db', { key: 'k/1' }, { ServiceName: 'web', ServiceID: 's1', TaskID: 't1', TaskName: 'web.1', NodeID: 'n1' });
      const env = Object.fromEntries(
        text((await d.get(req)).value)
          .split('\n')
          .map((l) => l.split(/=(.*)/s).slice(0, 2)),
      );
      assert.deepEqual(env, {
        PATH: process.env.PATH,
        SECRETD_T_PASSED: 'passed',
        SECRETD_SECRET_KEY: 'k/1',
        SECRETD_SECRET_NAME: 'db',
        SECRETD_SERVICE_ID: 's1',
        SECRETD_SERVICE_NAME: 'web',
        SECRETD_TASK_ID: 't1',
        SECRETD_TASK_NAME: 'web.1',
        SECRETD_NODE_ID: 'n1',
      });
    } finally {
      delete process.env.SECRETD_T_PASSED;
      delete process.env.SECRETD_T_HIDDEN;
    }
  });

  test('kills the whole process group of a command that outlives its timeout', async () => {
    const pidFile = join(base, 'sleep.pids');
    const d = configured(sh(`sleep 30 & echo $! > ${pidFile}; echo $$ >> ${pidFile}; wait`, { timeout: '300' }));
    const started = Date.now();
    await assert.rejects(async () => d.get(request('slow')), /^Error: sh "slow": timed out after 300 ms \(killed\)$/);
    assert.ok(Date.now() - started < 3000, 'the timeout did not wait for the command');
    const list = pids(pidFile);
    assert.equal(list.length, 2);
    for (const pid of list) assert.equal(await gone(pid), true, `process ${pid} survived`);
  });

  test('cuts off and kills a command printing more than max-bytes', async () => {
    const pidFile = join(base, 'flood.pids');
    const d = configured(sh(`echo $$ > ${pidFile}; exec yes SECRET-FLOOD`, { 'max-bytes': '1000' }));
    await assert.rejects(
      async () => d.get(request('flood')),
      (e: Error) => /printed more than 1000 bytes \(killed\)/.test(e.message) && !e.message.includes('SECRET-FLOOD'),
    );
    for (const pid of pids(pidFile)) assert.equal(await gone(pid), true, `process ${pid} survived`);
  });

  test('accepts output of exactly max-bytes', async () => {
    const d = configured(sh('head -c 1000 /dev/zero | tr "\\0" a', { 'max-bytes': '1000', trim: 'none' }));
    assert.equal((await d.get(request('x'))).value.length, 1000);
  });

  test('fails on empty output, a non-zero exit or a signal, logging only the stderr length', async () => {
    const logged: object[] = [];
    const log: DriverLog = { ...silent, debug: (fields) => void logged.push(fields) };
    await assert.rejects(async () => configured(sh('echo'), log).get(request('k')), /^Error: sh "k": printed nothing$/);
    await assert.rejects(
      async () => configured(sh('echo LEAKED-VALUE; echo LEAKED-VALUE >&2; exit 3'), log).get(request('k')),
      (e: Error) => e.message === 'sh "k": exited with code 3; stderr: 13 bytes, not shown',
    );
    await assert.rejects(async () => configured(sh('kill -TERM $$'), log).get(request('k')), /sh "k": killed by SIGTERM$/);
    assert.deepEqual(logged, [{ driver: 'exec', key: 'k', stderrBytes: 13 }]);
  });

  test('reports a command that does not exist', async () => {
    await assert.rejects(async () => configured({ command: '["/nonexistent/helper"]' }).get(request('k')), /\/nonexistent\/helper "k": command not found/);
  });

  test('kills running commands at close', async () => {
    const pidFile = join(base, 'close.pids');
    const d = configured(sh(`echo $$ > ${pidFile}; exec sleep 30`));
    const pending = Promise.resolve(d.get(request('k')));
    while (!existsSync(pidFile) || readFileSync(pidFile, 'utf8') === '') await new Promise((r) => setTimeout(r, 20));
    await d.close!();
    await assert.rejects(pending, /killed by SIGKILL/);
    for (const pid of pids(pidFile)) assert.equal(await gone(pid), true, `process ${pid} survived`);
  });
});
