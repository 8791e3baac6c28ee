/**
 * The driver contract suite (contract.ts) against every driver secretd ships, the example driver
 * over a real KV server process, and the fixture Docker plugin over a unix socket and TCP; then
 * proof that the suite catches violations: broken drivers run through `npm run driver:test`'s
 * command in child processes must fail, naming the broken rule.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import net from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import { startPlugin, type FixturePlugin } from '../fixtures/plugins/start.ts';
import { createHttpKvDriver } from '../../drivers/examples/http-kv.ts';
import type { DriverLog } from '../../src/drivers/types.ts';
import { driverContract } from './contract.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const at = (rel: string) => join(ROOT, rel);
const tmp = mkdtempSync(join(tmpdir(), 'secretd-contract-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const children: ChildProcess[] = [];
const plugins: FixturePlugin[] = [];
after(async () => {
  for (const c of children) c.kill('SIGKILL');
  for (const p of plugins) await p.stop('SIGKILL');
});

/** Starts test/fixtures/kv-server.mjs; resolves with its base URL once it printed its port. */
async function startKvServer(token: string): Promise<string> {
  const proc = spawn(process.execPath, [at('test/fixtures/kv-server.mjs'), '--port', '0', '--token', token], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(proc);
  const port = await new Promise<string>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /^(\d+)\n/.exec(out);
      if (m) resolve(m[1]!);
    });
    proc.once('exit', (code) => reject(new Error(`kv-server exited with ${code}`)));
  });
  return `http://127.0.0.1:${port}`;
}

/** A TCP server that accepts connections and never answers. */
async function silentServer(): Promise<string> {
  const server = net.createServer(() => {});
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
}
const servers: net.Server[] = [];
after(() => {
  for (const s of servers) s.close();
});

// Every process starts before the first test is registered: node:test ends the run once the
// registered tests are done, even while this module is still awaiting something.
const KV_TOKEN = randomBytes(16).toString('hex');
const kvUrl = await startKvServer(KV_TOKEN);
const silentUrl = await silentServer();
const pluginDir = join(tmp, 'plugins');
mkdirSync(pluginDir);
const plugin = await startPlugin({ unix: join(pluginDir, 'contract-vault.sock') });
plugins.push(plugin);
const tcpPlugin = await startPlugin({ tcp: '127.0.0.1:0' });
plugins.push(tcpPlugin);

// --- the example driver --------------------------------------------------------------------------

driverContract(at('drivers/examples/http-kv.ts'), { settings: { url: `${kvUrl}/v1/secrets`, token: KV_TOKEN } });
driverContract(at('drivers/examples/http-kv.ts'), {
  secret: 'app_db_password',
  options: { key: 'apps/db/password' },
  data: 'a value chosen by the test, long enough to be looked for',
  settings: { url: `${kvUrl}/v1/secrets`, token: KV_TOKEN, timeout: '2000' },
});

describe('http-kv beyond the contract', () => {
  const quiet: DriverLog = { debug() {}, info() {}, warn() {}, error() {} };
  const start = async (settings: Record<string, string>) => {
    const d = createHttpKvDriver();
    await d.init!({ settings, dataRoot: tmp, log: quiet });
    return d;
  };

  test('a wrong token fails get with a message naming the setting, never the token', async () => {
    const d = await start({ url: kvUrl, token: 'not-the-token' });
    await assert.rejects(
      async () => d.get({ SecretName: 'x', SecretLabels: {}, Options: {} }),
      (e: Error) => {
        assert.match(e.message, /401 .*setting "token"/);
        assert.ok(!e.message.includes('not-the-token'));
        return true;
      },
    );
  });

  test('validate refuses keys that climb, start with a dot or are empty, and unknown options', async () => {
    const d = await start({ url: kvUrl });
    for (const key of ['../etc', 'a//b', '.hidden', 'a/', 'sp ace']) {
      await assert.rejects(async () => d.validate!({ key }, { name: 'n', labels: {} }), /option "key"/, key);
    }
    await assert.rejects(async () => d.validate!({ path: 'x' }, { name: 'n', labels: {} }), /unknown option "path"/);
    await d.validate!({ key: 'team-a/db.password_1' }, { name: 'n', labels: {} });
  });

  test('store refuses to overwrite a key that exists', async () => {
    const d = await start({ url: kvUrl, token: KV_TOKEN });
    const info = { id: 'a'.repeat(25), name: `dup-${randomBytes(4).toString('hex')}`, labels: {}, options: {} };
    await d.store!(info, new TextEncoder().encode('first'));
    await assert.rejects(async () => d.store!(info, new TextEncoder().encode('second')), /already exists/);
    assert.equal(Buffer.from((await d.get({ SecretName: info.name, SecretLabels: {}, Options: {} })).value).toString(), 'first');
  });

  test('init refuses a missing url, credentials in the url and a bad timeout', async () => {
    await assert.rejects(start({}), /"url" is required/);
    await assert.rejects(start({ url: 'http://user:pw@127.0.0.1:1/' }), /must not contain credentials/);
    await assert.rejects(start({ url: kvUrl, timeout: '0' }), /"timeout" must be/);
    await assert.rejects(start({ url: kvUrl, colour: 'blue' }), /unknown setting "colour"/);
  });

  test('a service that does not answer fails get after the timeout', async () => {
    const d = await start({ url: silentUrl, timeout: '200' });
    await assert.rejects(async () => d.get({ SecretName: 'x', SecretLabels: {}, Options: {} }), /GET key x: no answer within 200 ms/);
  });
});

// --- the built-in drivers ------------------------------------------------------------------------

const ENV_NAME = `SECRETD_CONTRACT_${randomBytes(4).toString('hex').toUpperCase()}`;
process.env[ENV_NAME] = `env-value-${randomBytes(8).toString('hex')}`;
driverContract(at('drivers/env.ts'), { secret: ENV_NAME, settings: { allow: 'SECRETD_CONTRACT_*' } });

const fileRoot = join(tmp, 'files');
mkdirSync(join(fileRoot, 'db'), { recursive: true });
writeFileSync(join(fileRoot, 'db', 'password'), `file-value-${randomBytes(8).toString('hex')}`);
driverContract(at('drivers/file.ts'), { secret: 'db_password', options: { path: 'db/password' }, settings: { root: fileRoot } });

const helper = join(tmp, 'helper.sh');
writeFileSync(helper, '#!/bin/sh\n[ "$1" = sample ] || { echo "no entry $1" >&2; exit 1; }\nprintf "exec-value-from-helper\\n"\n');
chmodSync(helper, 0o755);
driverContract(at('drivers/exec.ts'), { secret: 'sample', settings: { command: helper } });

driverContract(at('drivers/golang.ts'), { template: 'user={{ .Service.Name }}\n' });

// --- Docker plugins ------------------------------------------------------------------------------

const refuses = { labels: { 'fixture.error': 'no such secret in the vault' } };

driverContract(plugin.addr, { secret: 'db_password', unknown: refuses });
driverContract(join(pluginDir, 'contract-vault.sock'), { secret: 'db_password', labels: { 'fixture.do-not-reuse': 'true' }, unknown: refuses });
driverContract(tcpPlugin.addr, { secret: 'api_key', unknown: refuses });
// The bridge that finds plugins: a provider whose resolved driver gets the secret-driver checks.
driverContract(at('drivers/docker-plugins/index.ts'), { settings: { dirs: pluginDir }, resolve: 'contract-vault', secret: 'db_password', unknown: refuses });

// --- the suite catches violations ----------------------------------------------------------------

const TYPES = JSON.stringify(at('src/drivers/types.ts'));
const brokenDir = join(tmp, 'broken');
mkdirSync(brokenDir);

/** A driver module whose `get` answers the secret `sample` with `answer` and refuses the rest with `refuse`. */
function secretModule(file: string, body: string): string {
  const path = join(brokenDir, file);
  writeFileSync(path, `import type { SecretDriver } from ${TYPES};\nconst enc = (s: string) => new TextEncoder().encode(s);\n${body}\n`);
  return path;
}

const good = secretModule(
  'good.ts',
  `export default { kind: 'secret', name: 'good', get(r) {
  if (r.SecretName !== 'sample') throw new Error(\`no secret \${r.SecretName}\`);
  return { value: enc('a-good-value') };
} } satisfies SecretDriver;`,
);

interface BrokenCase {
  what: string;
  module: () => string | Promise<string>;
  args?: string[];
  /** The title of the rule that must fail, as the spec reporter prints it after ✖. */
  rule: string;
  /** Text that must also appear (the reason). */
  why?: RegExp;
}

const cases: BrokenCase[] = [
  {
    what: 'a module whose kind is not a driver kind',
    module: () => secretModule('wrong-kind.ts', `export default { kind: 'secrets', name: 'wrong-kind', get: () => ({ value: enc('v') }) };`),
    rule: 'matches interface: the module default-exports a driver',
    why: /"kind" must be "secret", "templating" or "provider", not "secrets"/,
  },
  {
    what: 'get returning a string',
    module: () =>
      secretModule('string-get.ts', `export default { kind: 'secret', name: 'string-get', get: () => 'plain-string-value' } as unknown as SecretDriver;`),
    args: ['--secret', 'sample'],
    rule: 'get(sample) returns { value: Uint8Array } of 1 to 511999 bytes',
    why: /must return an object \{ value, doNotReuse\? \}, not string/,
  },
  {
    what: 'get returning an empty value',
    module: () =>
      secretModule('empty-get.ts', `export default { kind: 'secret', name: 'empty-get', get: () => ({ value: new Uint8Array(0) }) } satisfies SecretDriver;`),
    args: ['--secret', 'sample'],
    rule: 'get(sample) returns { value: Uint8Array } of 1 to 511999 bytes',
    why: /returned 0 bytes/,
  },
  {
    what: 'get leaking the value in an error',
    module: () =>
      secretModule(
        'leaky-get.ts',
        `const VALUE = 'the-leaky-secret-value';
export default { kind: 'secret', name: 'leaky-get', get(r) {
  if (r.SecretName === 'sample') return { value: enc(VALUE) };
  throw new Error(\`no secret \${r.SecretName}; did you mean sample (\${VALUE})?\`);
} } satisfies SecretDriver;`,
      ),
    args: ['--secret', 'sample'],
    rule: "get's error for an unknown secret does not contain the sample value",
    why: /contains a secret value/,
  },
  {
    what: 'get hanging',
    module: () =>
      secretModule('hanging-get.ts', `export default { kind: 'secret', name: 'hanging-get', get: () => new Promise<never>(() => {}) } satisfies SecretDriver;`),
    args: ['--secret', 'sample', '--timeout', '300'],
    rule: 'get(sample) answers within 300 ms',
    why: /did not answer within 300 ms/,
  },
  {
    what: 'get throwing a string instead of an Error',
    module: () =>
      secretModule(
        'string-throw.ts',
        `export default { kind: 'secret', name: 'string-throw', get(r) {
  if (r.SecretName === 'sample') return { value: enc('fine-value') };
  throw 'not found';
} } satisfies SecretDriver;`,
      ),
    args: ['--secret', 'sample'],
    rule: 'get of an unknown secret rejects with an Error that has a message',
    why: /must reject with an Error, not string/,
  },
  {
    what: 'get answering an unknown secret',
    module: () =>
      secretModule(
        'answers-all.ts',
        `export default { kind: 'secret', name: 'answers-all', get: () => ({ value: enc('same-for-all') }) } satisfies SecretDriver;`,
      ),
    args: ['--secret', 'sample'],
    rule: 'get of an unknown secret rejects within',
    why: /must reject, but it resolved/,
  },
  {
    what: 'a writable driver whose removed keeps the value',
    module: () =>
      secretModule(
        'sticky-store.ts',
        `const values = new Map<string, Uint8Array>();
export default { kind: 'secret', name: 'sticky-store',
  store(s, data) { values.set(s.name, data); },
  get(r) { const v = values.get(r.SecretName); if (!v) throw new Error('no such secret'); return { value: v }; },
  removed() {},
} satisfies SecretDriver;`,
      ),
    rule: 'get after store and removed rejects with an Error',
    why: /still returns a value after removed/,
  },
  {
    what: 'a driver that logs the value',
    module: () =>
      secretModule(
        'logs-value.ts',
        `import type { DriverLog } from ${TYPES};
let log: DriverLog | undefined;
export default { kind: 'secret', name: 'logs-value',
  init(setup) { log = setup.log; },
  get(r) {
    if (r.SecretName !== 'sample') throw new Error('no such secret');
    const value = 'value-that-gets-logged';
    log?.debug({ value }, 'serving');
    return { value: enc(value) };
  },
} satisfies SecretDriver;`,
      ),
    args: ['--secret', 'sample'],
    rule: 'the driver never logs a secret value',
  },
  {
    what: 'init refusing the settings',
    module: () =>
      secretModule(
        'bad-init.ts',
        `export default { kind: 'secret', name: 'bad-init', init() { throw new Error('setting "url" is required'); }, ` +
          `get: () => ({ value: enc('x') }) } satisfies SecretDriver;`,
      ),
    rule: 'init(settings) succeeds',
    why: /setting "url" is required/,
  },
  {
    what: 'a driver whose close leaves a timer running',
    module: () =>
      secretModule(
        'leaves-timer.ts',
        `let timer: NodeJS.Timeout | undefined;
export default { kind: 'secret', name: 'leaves-timer',
  init() { timer = setInterval(() => {}, 1000); },
  get(r) { if (r.SecretName !== 'sample') throw new Error('no such secret'); return { value: enc('timer-value') }; },
} satisfies SecretDriver;`,
      ),
    args: ['--secret', 'sample'],
    rule: 'the driver left Timeout open 2 s after close()',
  },
  {
    what: 'a plugin that does not implement secretprovider',
    module: async () => {
      const p = await startPlugin({ unix: join(brokenDir, 'authz-only.sock'), implements: ['authz'] });
      plugins.push(p);
      return p.addr;
    },
    args: ['--secret', 'x'],
    rule: 'matches interface: /Plugin.Activate answers',
    why: /does not contain "secretprovider"/,
  },
];

/** The environment for a child run: without NODE_TEST_CONTEXT, which would make it speak the runner's binary protocol. */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  return { ...env, NO_COLOR: '1', ...extra };
}

/** `npm run driver:test -- …` as package.json runs it, from the project root. */
function driverTest(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', '--test-reporter=spec', 'test/drivers/driver-test.ts', '--', ...args],
      { cwd: ROOT, timeout: 60_000, env: childEnv() },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` }),
    );
  });
}

describe('the contract suite fails broken drivers, naming the rule', { concurrency: 3 }, () => {
  for (const c of cases) {
    test(`${c.what}: fails "${c.rule}"`, async () => {
      const { code, out } = await driverTest([await c.module(), ...(c.args ?? [])]);
      assert.notEqual(code, 0, `driver:test passed a broken driver:\n${out}`);
      const failed = out
        .split('\n')
        .filter((l) => l.trimStart().startsWith('✖'))
        .map((l) => l.trim());
      assert.ok(
        failed.some((l) => l.startsWith(`✖ ${c.rule}`)),
        `expected "✖ ${c.rule}…" among the failures:\n${failed.join('\n')}\n\n${out}`,
      );
      if (c.why) assert.match(out, c.why);
    });
  }

  test('a driver that keeps every rule passes, with exit status 0', async () => {
    const { code, out } = await driverTest([good, '--secret', 'sample']);
    assert.equal(code, 0, out);
    assert.match(out, /ℹ fail 0/);
  });

  test('a relative path is resolved from the directory npm was run in (INIT_CWD)', async () => {
    const { code, out } = await new Promise<{ code: number | null; out: string }>((resolve) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', '--test-reporter=spec', join(ROOT, 'test/drivers/driver-test.ts'), './good.ts', '--secret', 'sample'],
        { cwd: ROOT, timeout: 60_000, env: childEnv({ INIT_CWD: brokenDir }) },
        (err, stdout, stderr) => resolve({ code: err ? 1 : 0, out: `${stdout}${stderr}` }),
      );
    });
    assert.equal(code, 0, out);
  });
});
