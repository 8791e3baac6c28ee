/**
 * The driver contract suite: every rule of src/drivers/types.ts, checked against a driver module
 * (a path or a package) or a Docker secret-provider plugin socket. `driverContract(target, options)`
 * registers node:test tests; contract.test.ts runs it on secretd's drivers, and
 * `npm run driver:test -- PATH_OR_SOCKET` (driver-test.ts) runs it for plugin authors.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { basename, isAbsolute, join, resolve } from 'node:path';
import { after, describe, test, type TestContext } from 'node:test';
import { PluginClient, LOCAL_HOST, PLUGIN_ACCEPT } from '../../drivers/docker-plugins/client.ts';
import type { PluginAddress } from '../../drivers/docker-plugins/discovery.ts';
import { GET_SECRET, getSecretBody, PluginSecretDriver, SECRET_PROVIDER } from '../../drivers/docker-plugins/plugin-driver.ts';
import { MAX_VALUE_BYTES } from '../../src/drivers/kit.ts';
import { checkDriver, loadDriver, type LoadedDriver } from '../../src/drivers/load.ts';
import type {
  DriverLog,
  DriverProvider,
  RenderRequest,
  SecretDriver,
  SecretInfo,
  SecretRequest,
  StringMap,
  TemplatingDriver,
} from '../../src/drivers/types.ts';

/** What the author tells the suite about their driver. Everything is optional. */
export interface ContractOptions {
  /**
   * The sample secret: a name the driver can serve (for a plugin, one it answers GetSecret for).
   * Default for a writable driver (one with `store`): a fresh `contract-…` name it is asked to
   * store; otherwise the checks that need a sample are skipped, saying so.
   */
  secret?: string;
  /** The sample's labels (`SecretLabels`). Default none. */
  labels?: StringMap;
  /** The sample's `Driver.Options`. Default none. */
  options?: StringMap;
  /** The driver's settings, given to `init` as `--driver-opt NAME.KEY=VALUE` would. Default none. */
  settings?: StringMap;
  /** For a writable driver: the data to store for the sample. Default: random text. */
  data?: string | Uint8Array;
  /** A request the driver must refuse. Default: a fresh `contract-unknown-…` name, no labels or options. */
  unknown?: { secret?: string; labels?: StringMap; options?: StringMap };
  /** For a provider: a secret-driver name it resolves (its driver then gets the secret-driver checks). */
  resolve?: string;
  /** For a templating driver: a template without template syntax. Default `plain text\n`. */
  template?: string;
  /** For a templating driver: a template it refuses. Default `{{` (an unclosed action). */
  badTemplate?: string;
  /** The time every hook and plugin call must answer in, in ms. Default 5000. */
  timeoutMs?: number;
  /** Where a relative module path or a package name is resolved from. Default `process.cwd()`. */
  cwd?: string;
}

/** swarmkit's bound on a secret value: 1 to 511999 bytes (the kit's, re-exported for driver authors' tests). */
export { MAX_VALUE_BYTES };
const DEFAULT_TIMEOUT_MS = 5000;
const CONCURRENT_CALLS = 10;

/** True for a plugin address: `unix://…`, `tcp://…`, `http://…`, a `*.sock` path, or any existing socket. */
export function isPluginTarget(target: string): boolean {
  if (/^(unix|tcp|http):\/\//i.test(target) || target.endsWith('.sock')) return true;
  try {
    return statSync(target).isSocket();
  } catch {
    return false;
  }
}

/**
 * Registers the contract tests for `target` under one suite, synchronously (a module is loaded
 * inside the suite, so the tests registered match its kind).
 */
export function driverContract(target: string, options: ContractOptions = {}): void {
  if (isPluginTarget(target)) pluginSuite(target, pluginAddress(target, options.cwd), options);
  else moduleSuite(target, options);
}

// --- modules -------------------------------------------------------------------------------------

function moduleSuite(target: string, options: ContractOptions): void {
  const ms = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const importMs = Math.max(ms, 30_000);
  const lifecycle = { started: false };
  const logged: string[] = [];
  let dataRoot: string | undefined;
  const samples = new Samples(options);

  describe(`driver contract: ${target}`, async () => {
    const loading: Outcome<LoadedDriver> = await attempt(() => loadDriver(target, options.cwd), importMs);
    const loaded = loading.kind === 'value' ? loading.value.driver : undefined;
    after(() => {
      if (dataRoot) rmSync(dataRoot, { recursive: true, force: true });
    });

    test('matches interface: the module default-exports a driver with a valid kind, name and hooks', () => {
      if (loading.kind === 'timeout') assert.fail(`importing the module did not finish within ${importMs} ms`);
      if (loading.kind === 'error') throw loading.error; // loadDriver's message names the broken rule
    });
    if (!loaded) return;

    test(`init(settings) succeeds within ${ms} ms`, async (t) => {
      dataRoot = mkdtempSync(join(tmpdir(), 'driver-contract-'));
      if (!loaded.init) t.diagnostic('no init hook (optional)');
      const log = collectingLog(logged);
      const outcome = await attempt(() => loaded.init?.({ settings: { ...options.settings }, dataRoot: dataRoot!, log }), ms);
      expectAnswer(outcome, 'init');
      // The keys only: values may be tokens.
      if (outcome.kind === 'error') {
        const keys = Object.keys(options.settings ?? {}).join(', ') || 'none';
        assert.fail(`init refused the settings (keys: ${keys}): ${describeError(outcome.error)}`);
      }
      lifecycle.started = true;
    });

    const ready = (t: TestContext): boolean => {
      if (!lifecycle.started) t.skip('init did not succeed');
      return lifecycle.started;
    };
    if (loaded.kind === 'secret') secretDriverTests(() => loaded, ready, samples, ms);
    if (loaded.kind === 'templating') templatingTests(loaded, ready, options, ms);
    if (loaded.kind === 'provider') providerTests(loaded, ready, samples, options, ms);

    test(`close() succeeds within ${ms} ms`, async (t) => {
      if (!ready(t)) return;
      if (!loaded.close) t.diagnostic('no close hook (optional)');
      const outcome = await attempt(() => loaded.close?.(), ms);
      expectAnswer(outcome, 'close');
      if (outcome.kind === 'error') assert.fail(`close failed: ${describeError(outcome.error)}`);
    });

    test('the driver never logs a secret value', (t) => {
      const secrets = samples.knownValues();
      if (secrets.length === 0) return t.skip('no sample value to look for');
      for (const line of logged) assertNoValue(line, secrets, 'a log entry');
      t.diagnostic(`${logged.length} log entries checked`);
    });
  });
}

// --- secret drivers ------------------------------------------------------------------------------

/** The sample secret, the unknown one, and the values seen (to look for in errors and logs). */
class Samples {
  readonly name: string | undefined;
  readonly data: Uint8Array;
  readonly unknown: SecretRequest;
  private readonly seen: Uint8Array[] = [];
  readonly info: SecretInfo;

  private readonly options: ContractOptions;
  constructor(options: ContractOptions) {
    this.options = options;
    this.name = options.secret;
    this.data =
      typeof options.data === 'string'
        ? new TextEncoder().encode(options.data)
        : (options.data ?? new TextEncoder().encode(`contract-data-${randomBytes(12).toString('hex')}`));
    const u = options.unknown ?? {};
    this.unknown = { SecretName: u.secret ?? `contract-unknown-${randomBytes(6).toString('hex')}`, SecretLabels: { ...u.labels }, Options: { ...u.options } };
    // A writable driver without a named sample stores one under a fresh name.
    this.info = {
      id: randomBytes(13).toString('hex').slice(0, 25),
      name: options.secret ?? `contract-${randomBytes(6).toString('hex')}`,
      labels: { ...options.labels },
      options: { ...options.options },
    };
  }

  /** The sample's request, or undefined when there is none for this driver. */
  request(driver: SecretDriver): SecretRequest | undefined {
    if (this.name === undefined && !driver.store) return undefined;
    return { SecretName: this.info.name, SecretLabels: { ...this.info.labels }, Options: { ...this.info.options } };
  }

  remember(value: Uint8Array): void {
    if (!this.seen.some((v) => Buffer.from(v).equals(value))) this.seen.push(value);
  }

  knownValues(): Uint8Array[] {
    return this.seen;
  }

  get sampleHint(): string {
    return this.options.secret === undefined ? 'no sample secret: pass --secret NAME (with --label/--option as needed) naming one the driver serves' : '';
  }
}

/**
 * The secret-driver rules, for the driver `current()` returns (a module's, or one a provider
 * resolved). `ready` skips a test when setting up failed. A `plugin` has only GetSecret: its
 * hook checks are left out.
 */
function secretDriverTests(current: () => SecretDriver | undefined, ready: (t: TestContext) => boolean, samples: Samples, ms: number, plugin = false): void {
  let driver!: SecretDriver;
  let sample: SecretRequest | undefined;
  let answer: Outcome<unknown> | undefined;
  let unknownAnswer: Outcome<unknown> | undefined;
  let stored = false;

  /** Sets `driver` and `sample`; false (with the test skipped) when a test cannot run. */
  const prepare = (t: TestContext, needs: { sample?: boolean; hook?: keyof SecretDriver } = {}): boolean => {
    if (!ready(t)) return false;
    const d = current();
    if (!d) {
      t.skip('no secret driver to check');
      return false;
    }
    driver = d;
    sample = samples.request(d);
    if (needs.hook && typeof d[needs.hook] !== 'function') {
      t.skip(`no ${needs.hook} hook (optional)`);
      return false;
    }
    if (needs.sample && !sample) {
      t.skip(samples.sampleHint);
      return false;
    }
    return true;
  };

  if (!plugin)
    test(`validate(options) accepts the sample's options within ${ms} ms`, async (t) => {
      if (!prepare(t, { sample: true, hook: 'validate' })) return;
      const outcome = await attempt(() => driver.validate!({ ...sample!.Options }, { name: sample!.SecretName, labels: { ...sample!.SecretLabels } }), ms);
      expectAnswer(outcome, 'validate');
      if (outcome.kind === 'error') assert.fail(`validate refused ${JSON.stringify(sample!.Options)}: ${describeError(outcome.error)}`);
    });

  if (!plugin)
    test(`store(secret, data) accepts the sample's data within ${ms} ms (writable drivers)`, async (t) => {
      if (!prepare(t, { sample: true, hook: 'store' })) return;
      samples.remember(samples.data);
      const outcome = await attempt(() => driver.store!({ ...samples.info }, samples.data.slice()), ms);
      expectAnswer(outcome, 'store');
      if (outcome.kind === 'error') {
        assertErrorHidesValues(outcome.error, samples, 'store');
        assert.fail(`store failed: ${describeError(outcome.error)}`);
      }
      stored = true;
    });

  test(`get(sample) answers within ${ms} ms`, async (t) => {
    if (!prepare(t, { sample: true })) return;
    answer = await attempt(() => driver.get(sample!), ms);
    if (answer.kind === 'value') rememberValue(answer.value, samples);
    expectAnswer(answer, 'get(sample)');
  });

  test(`get(sample) returns { value: Uint8Array } of 1 to ${MAX_VALUE_BYTES} bytes`, (t) => {
    if (!prepare(t, { sample: true })) return;
    const value = expectValue(answer, 'get(sample)', samples);
    t.diagnostic(`${value.length} bytes`);
  });

  test('get(sample) returns doNotReuse as a boolean or not at all', (t) => {
    if (!prepare(t, { sample: true })) return;
    expectValue(answer, 'get(sample)', samples);
    const dnr = (answer as { value: { doNotReuse?: unknown } }).value.doNotReuse;
    assert.ok(dnr === undefined || typeof dnr === 'boolean', `doNotReuse must be true, false or absent, not ${JSON.stringify(dnr)} (${typeof dnr})`);
  });

  if (!plugin)
    test('get after store returns exactly the stored bytes (writable drivers)', (t) => {
      if (!prepare(t, { sample: true, hook: 'store' })) return;
      if (!stored) return t.skip('store did not succeed');
      const value = expectValue(answer, 'get(sample)', samples);
      assert.ok(
        Buffer.from(value).equals(Buffer.from(samples.data)),
        `get returned ${value.length} bytes that differ from the ${samples.data.length} bytes stored`,
      );
    });

  test(`get answers ${CONCURRENT_CALLS} concurrent calls for the sample within ${ms} ms, each with a valid value`, async (t) => {
    if (!prepare(t, { sample: true })) return;
    const outcome = await attempt(() => Promise.all(Array.from({ length: CONCURRENT_CALLS }, () => driver.get({ ...sample! }))), ms);
    expectAnswer(outcome, `${CONCURRENT_CALLS} concurrent get calls`);
    if (outcome.kind === 'error') {
      assertErrorHidesValues(outcome.error, samples, 'get');
      assert.fail(`one of ${CONCURRENT_CALLS} concurrent get calls failed: ${describeError(outcome.error)}`);
    }
    for (const [i, v] of outcome.value.entries()) expectValue({ kind: 'value', value: v }, `concurrent get #${i + 1}`, samples);
  });

  test(`get of an unknown secret rejects within ${ms} ms (no hang)`, async (t) => {
    if (!prepare(t)) return;
    t.diagnostic(`asked for ${JSON.stringify(samples.unknown.SecretName)} with labels ${JSON.stringify(samples.unknown.SecretLabels)}`);
    unknownAnswer = await attempt(() => driver.get({ ...samples.unknown }), ms);
    expectAnswer(unknownAnswer, 'get(unknown)');
    if (unknownAnswer.kind === 'value') {
      rememberValue(unknownAnswer.value, samples);
      assert.fail(
        `get of the unknown secret ${JSON.stringify(samples.unknown.SecretName)} must reject, but it resolved ` +
          '(pass --unknown-secret/--unknown-label for a request your driver refuses)',
      );
    }
  });

  test('get of an unknown secret rejects with an Error that has a message (not a string or other value)', (t) => {
    if (!prepare(t)) return;
    if (unknownAnswer?.kind !== 'error') return t.skip('get(unknown) did not reject');
    expectError(unknownAnswer.error, 'get(unknown)');
    t.diagnostic(`message: ${(unknownAnswer.error as Error).message}`);
  });

  test("get's error for an unknown secret does not contain the sample value", (t) => {
    if (!prepare(t)) return;
    if (unknownAnswer?.kind !== 'error') return t.skip('get(unknown) did not reject');
    if (samples.knownValues().length === 0) return t.skip(samples.sampleHint || 'no sample value to look for');
    assertErrorHidesValues(unknownAnswer.error, samples, 'get(unknown)');
  });

  if (!plugin)
    test(`removed(secret) finishes within ${ms} ms (writable drivers)`, async (t) => {
      if (!prepare(t, { sample: true, hook: 'removed' })) return;
      const outcome = await attempt(() => driver.removed!({ ...samples.info }), ms);
      expectAnswer(outcome, 'removed');
      if (outcome.kind === 'error') {
        assertErrorHidesValues(outcome.error, samples, 'removed');
        assert.fail(`removed failed: ${describeError(outcome.error)}`);
      }
    });

  if (!plugin)
    test('get after store and removed rejects with an Error (writable drivers)', async (t) => {
      if (!prepare(t, { sample: true, hook: 'store' })) return;
      if (!driver.removed) return t.skip('no removed hook: the driver keeps values after a delete');
      if (!stored) return t.skip('store did not succeed');
      const outcome = await attempt(() => driver.get({ ...sample! }), ms);
      expectAnswer(outcome, 'get after removed');
      if (outcome.kind === 'value') assert.fail('get still returns a value after removed: the stored value was not deleted');
      expectError(outcome.error, 'get after removed');
      assertErrorHidesValues(outcome.error, samples, 'get after removed');
    });
}

// --- templating drivers --------------------------------------------------------------------------

function templatingTests(driver: TemplatingDriver, ready: (t: TestContext) => boolean, options: ContractOptions, ms: number): void {
  const plain = options.template ?? 'plain text\n';
  const bad = options.badTemplate ?? '{{';

  test(`render(plain template) answers within ${ms} ms with a Uint8Array of fewer than ${MAX_VALUE_BYTES + 1} bytes`, async (t) => {
    if (!ready(t)) return;
    const outcome = await attempt(() => driver.render(new TextEncoder().encode(plain), renderRequest()), ms);
    expectAnswer(outcome, 'render');
    if (outcome.kind === 'error') assert.fail(`render of ${JSON.stringify(plain)} failed: ${describeError(outcome.error)}`);
    assert.ok(outcome.value instanceof Uint8Array, `render must return a Uint8Array, not ${typeName(outcome.value)}`);
    assert.ok(outcome.value.length <= MAX_VALUE_BYTES, `render returned ${outcome.value.length} bytes, more than ${MAX_VALUE_BYTES}`);
    t.diagnostic(`rendered ${JSON.stringify(Buffer.from(outcome.value).toString('utf8').slice(0, 80))}`);
  });

  test(`render of a template it refuses rejects within ${ms} ms with an Error`, async (t) => {
    if (!ready(t)) return;
    const outcome = await attempt(() => driver.render(new TextEncoder().encode(bad), renderRequest()), ms);
    expectAnswer(outcome, 'render(bad template)');
    if (outcome.kind === 'value') return t.skip(`the driver rendered ${JSON.stringify(bad)}; pass --bad-template TEXT with a template it refuses`);
    expectError(outcome.error, 'render(bad template)');
    t.diagnostic(`message: ${(outcome.error as Error).message}`);
  });

  test('render passes a failing secret() lookup on as an Error', async (t) => {
    if (!ready(t)) return;
    // Only meaningful for engines with Swarm's {{secret "target"}}; skipped when the template is not refused.
    const outcome = await attempt(() => driver.render(new TextEncoder().encode('{{ secret "missing" }}'), renderRequest()), ms);
    expectAnswer(outcome, 'render(secret lookup)');
    if (outcome.kind === 'value') return t.skip('the template {{ secret "missing" }} rendered: the engine has no secret function');
    expectError(outcome.error, 'render(secret lookup)');
  });
}

/** A render request for a task of a made-up service, with functions that behave as secretd's. */
function renderRequest(): RenderRequest {
  const missing =
    (what: string) =>
    async (target: string): Promise<Uint8Array> => {
      throw new Error(`${what} target ${target} not found`);
    };
  return {
    secretId: 'contractsecret00000000000',
    secretName: 'contract-template',
    context: {
      Service: { ID: 'contractservice0000000000', Name: 'contract', Labels: { 'com.example': 'yes' } },
      Node: { ID: 'contractnode0000000000000', Hostname: 'node-1', Platform: { OS: 'linux', Architecture: 'x86_64' } },
      Task: { ID: 'contracttask0000000000000', Name: 'contract.1.contracttask0000000000000', Slot: '1' },
    },
    functions: { env: () => '', secret: missing('secret'), config: missing('config') },
    options: {},
  };
}

// --- providers -----------------------------------------------------------------------------------

function providerTests(provider: DriverProvider, ready: (t: TestContext) => boolean, samples: Samples, options: ContractOptions, ms: number): void {
  let resolved: SecretDriver | undefined;

  test(`resolve(unknown name) returns undefined within ${ms} ms`, async (t) => {
    if (!ready(t)) return;
    const name = `contract-none-${randomBytes(6).toString('hex')}`;
    const outcome = await attempt(() => provider.resolve(name), ms);
    expectAnswer(outcome, `resolve(${name})`);
    if (outcome.kind === 'error') assert.fail(`resolve of a name it does not know must return undefined, but it threw: ${describeError(outcome.error)}`);
    assert.equal(outcome.value, undefined, `resolve(${JSON.stringify(name)}) must return undefined for a name it does not know`);
  });

  test(`resolve(name) returns a secret driver within ${ms} ms`, async (t) => {
    if (!ready(t)) return;
    if (options.resolve === undefined) return t.skip('no name to resolve: pass --resolve NAME');
    const outcome = await attempt(() => provider.resolve(options.resolve!), ms);
    expectAnswer(outcome, `resolve(${options.resolve})`);
    if (outcome.kind === 'error') assert.fail(`resolve(${JSON.stringify(options.resolve)}) failed: ${describeError(outcome.error)}`);
    assert.notEqual(outcome.value, undefined, `resolve(${JSON.stringify(options.resolve)}) returned undefined`);
    const d = checkDriver(outcome.value, `resolved by ${provider.name} for ${options.resolve}`);
    assert.equal(d.kind, 'secret', `resolve must return a secret driver, not a ${d.kind} driver`);
    resolved = d as SecretDriver;
  });

  if (options.resolve === undefined) return;
  describe(`the secret driver resolve(${JSON.stringify(options.resolve)}) returns`, () => {
    secretDriverTests(() => resolved, ready, samples, ms);
  });
}

// --- plugin sockets ------------------------------------------------------------------------------

/** The address of a plugin target, in discovery's shape (the name is the socket's file name). */
function pluginAddress(target: string, cwd = process.cwd()): PluginAddress {
  if (/^(tcp|http):\/\//i.test(target)) return { name: 'plugin', addr: target, file: target };
  const path = target.replace(/^unix:\/\//i, '');
  const abs = isAbsolute(path) ? path : resolve(cwd, path);
  return { name: basename(abs).replace(/\.sock$/, '') || 'plugin', addr: `unix://${abs}`, file: abs };
}

function pluginSuite(target: string, address: PluginAddress, options: ContractOptions): void {
  const ms = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const samples = new Samples(options);
  let driver: PluginSecretDriver | undefined;
  let activated = false;
  const sample = (): SecretRequest | undefined =>
    samples.name === undefined ? undefined : { SecretName: samples.name, SecretLabels: { ...samples.info.labels }, Options: {} };

  describe(`driver contract: ${target} (Docker secret-provider plugin)`, () => {
    test(`matches interface: /Plugin.Activate answers within ${ms} ms with Implements containing "${SECRET_PROVIDER}"`, async () => {
      const reply = await rawCall(address, 'Plugin.Activate', '', ms);
      assert.equal(reply.status, 200, `/Plugin.Activate answered HTTP ${reply.status}: ${reply.text.slice(0, 200)}`);
      const list = (reply.json as { Implements?: unknown } | undefined)?.Implements;
      assert.ok(Array.isArray(list), `the reply must be JSON with an "Implements" list, got ${reply.text.slice(0, 200)}`);
      assert.ok(list.includes(SECRET_PROVIDER), `Implements ${JSON.stringify(list)} does not contain "${SECRET_PROVIDER}"`);
      driver = new PluginSecretDriver(address.name, await PluginClient.create(address, { timeoutMs: ms }));
      activated = true;
    });

    test(`${GET_SECRET} for the sample answers 200 with Value in standard base64`, async (t) => {
      const req = sample();
      if (!req) return t.skip(samples.sampleHint);
      const reply = await rawCall(address, GET_SECRET, `${JSON.stringify(getSecretBody(req))}\n`, ms);
      const doc = reply.json as { Value?: unknown; Err?: unknown; DoNotReuse?: unknown } | undefined;
      assert.equal(reply.status, 200, `HTTP ${reply.status}: ${errText(reply)}`);
      assert.ok(doc && typeof doc === 'object', `the reply must be a JSON object, got ${reply.text.slice(0, 200)}`);
      assert.ok(doc.Err === undefined || doc.Err === '' || doc.Err === null, `the reply carries Err ${JSON.stringify(doc.Err)}`);
      assert.equal(typeof doc.Value, 'string', `"Value" must be a base64 string, not ${typeName(doc.Value)}`);
      const value = doc.Value as string;
      samples.remember(new Uint8Array(Buffer.from(value, 'base64')));
      assert.ok(
        value.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(value),
        '"Value" must be standard, padded base64 (Go encodes []byte so; URL-safe or unpadded is refused)',
      );
      const bytes = Buffer.from(value, 'base64').length;
      assert.ok(bytes >= 1 && bytes <= MAX_VALUE_BYTES, `"Value" decodes to ${bytes} bytes; it must be 1 to ${MAX_VALUE_BYTES}`);
      assert.ok(
        doc.DoNotReuse === undefined || typeof doc.DoNotReuse === 'boolean',
        `"DoNotReuse" must be a boolean or absent, not ${JSON.stringify(doc.DoNotReuse)}`,
      );
    });

    test(`${GET_SECRET} for an unknown secret answers with a non-empty Err`, async (t) => {
      t.diagnostic(`asked for ${JSON.stringify(samples.unknown.SecretName)} with labels ${JSON.stringify(samples.unknown.SecretLabels)}`);
      const reply = await rawCall(address, GET_SECRET, `${JSON.stringify(getSecretBody(samples.unknown))}\n`, ms);
      const err = (reply.json as { Err?: unknown } | undefined)?.Err;
      assert.ok(
        typeof err === 'string' && err !== '',
        `HTTP ${reply.status} without an "Err" string: ${reply.text.slice(0, 200)} (pass --unknown-secret/--unknown-label for a request your plugin refuses)`,
      );
      assertNoValue(err, samples.knownValues(), 'the Err text');
    });

    test(`a malformed ${GET_SECRET} body gets an error answer within ${ms} ms, not a hang or a value`, async () => {
      const reply = await rawCall(address, GET_SECRET, '{"SecretName": ', ms);
      const err = (reply.json as { Err?: unknown } | undefined)?.Err;
      assert.ok(reply.status !== 200 || (typeof err === 'string' && err !== ''), `the plugin answered 200 without Err: ${reply.text.slice(0, 200)}`);
    });

    test('the plugin still answers /Plugin.Activate after the malformed request', async () => {
      const reply = await rawCall(address, 'Plugin.Activate', '', ms);
      assert.equal(reply.status, 200, `/Plugin.Activate answered HTTP ${reply.status}`);
    });

    describe(`as secretd calls it (${GET_SECRET} through the plugin client)`, () => {
      const ready = (t: TestContext): boolean => {
        if (!activated) t.skip('the plugin did not activate');
        return activated;
      };
      // A plugin has no hooks besides GetSecret: the sample is asked for without Options, as Docker does.
      samples.info.options = {};
      secretDriverTests(() => driver, ready, samples, ms, true);
    });
  });
}

interface RawReply {
  status: number;
  text: string;
  json?: unknown;
}

/**
 * One POST as dockerd sends it, without the client's interpretation, so the suite sees the
 * plugin's own status and body (PluginClient turns them into errors).
 */
function rawCall(address: PluginAddress, method: string, body: string, ms: number): Promise<RawReply> {
  const path = method.startsWith('/') ? method : `/${method}`;
  const unix = address.addr.startsWith('unix://') ? address.addr.slice('unix://'.length) : undefined;
  const url = unix ? undefined : new URL(address.addr.replace(/^tcp:/i, 'http:'));
  return new Promise((resolvePromise, reject) => {
    const req = http.request(
      {
        method: 'POST',
        path,
        agent: false,
        ...(unix ? { socketPath: unix } : { hostname: url!.hostname.replace(/^\[|\]$/g, ''), port: Number(url!.port || 80) }),
        headers: { Host: unix ? LOCAL_HOST : url!.host, Accept: PLUGIN_ACCEPT, 'Content-Length': Buffer.byteLength(body) },
        timeout: ms,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolvePromise({ status: res.statusCode ?? 0, text, json });
        });
      },
    );
    const timer = setTimeout(() => req.destroy(new Error(`${path} did not answer within ${ms} ms`)), ms);
    req.on('close', () => clearTimeout(timer));
    req.on('error', (e) => reject(new Error(`${path}: ${e.message}`)));
    req.end(body);
  });
}

function errText(reply: RawReply): string {
  const err = (reply.json as { Err?: unknown } | undefined)?.Err;
  return typeof err === 'string' ? `Err ${JSON.stringify(err)}` : reply.text.slice(0, 200);
}

// --- helpers -------------------------------------------------------------------------------------

export type Outcome<T> = { kind: 'value'; value: T } | { kind: 'error'; error: unknown } | { kind: 'timeout'; ms: number };

/** Runs `fn` (sync throws included) and waits at most `ms` for it. */
export async function attempt<T>(fn: () => T | Promise<T>, ms: number): Promise<Outcome<Awaited<T>>> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<Outcome<Awaited<T>>>((r) => {
    timer = setTimeout(() => r({ kind: 'timeout', ms }), ms);
  });
  const run = (async () => fn())().then(
    (value): Outcome<Awaited<T>> => ({ kind: 'value', value: value as Awaited<T> }),
    (error: unknown): Outcome<Awaited<T>> => ({ kind: 'error', error }),
  );
  try {
    return await Promise.race([run, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Fails on a hang. */
function expectAnswer<T>(outcome: Outcome<T>, what: string): asserts outcome is Exclude<Outcome<T>, { kind: 'timeout' }> {
  if (outcome.kind === 'timeout') assert.fail(`${what} did not answer within ${outcome.ms} ms`);
}

/** The rule for a rejection: an Error instance (or subclass) with a non-empty message. */
function expectError(error: unknown, what: string): void {
  // Not the thrown thing itself: a driver that throws a non-Error may be throwing the value.
  assert.ok(error instanceof Error, `${what} must reject with an Error, not ${typeName(error)}`);
  assert.ok(typeof error.message === 'string' && error.message.trim() !== '', `${what} rejected with an Error without a message`);
}

/** The rule for a get answer: `{ value: Uint8Array }` of 1..511999 bytes; returns the value. */
function expectValue(outcome: Outcome<unknown> | undefined, what: string, samples: Samples): Uint8Array {
  if (!outcome) assert.fail(`${what} was not called`);
  expectAnswer(outcome, what);
  if (outcome.kind === 'error') {
    assertErrorHidesValues(outcome.error, samples, what);
    assert.fail(`${what} failed: ${describeError(outcome.error)}`);
  }
  const answer = outcome.value as { value?: unknown } | null | undefined;
  assert.ok(typeof answer === 'object' && answer !== null, `${what} must return an object { value, doNotReuse? }, not ${typeName(answer)}`);
  const value = answer.value;
  assert.ok(value instanceof Uint8Array, `${what} must return { value: Uint8Array }, but value is ${typeName(value)}`);
  assert.ok(value.length >= 1 && value.length <= MAX_VALUE_BYTES, `${what} returned ${value.length} bytes; a value must be 1 to ${MAX_VALUE_BYTES} bytes`);
  return value;
}

function rememberValue(answer: unknown, samples: Samples): void {
  const value = (answer as { value?: unknown } | null)?.value;
  if (value instanceof Uint8Array && value.length > 0) samples.remember(value);
}

function assertErrorHidesValues(error: unknown, samples: Samples, what: string): void {
  const text = error instanceof Error ? `${error.message}\n${error.stack ?? ''}` : safeShow(error);
  assertNoValue(text, samples.knownValues(), `${what}'s error`);
}

/**
 * Fails when `text` holds one of `values` as text or base64. Values shorter than 4 bytes are
 * not looked for: they would match by chance.
 */
function assertNoValue(text: string, values: Uint8Array[], where: string): void {
  for (const v of values) {
    if (v.length < 4) continue;
    const b = Buffer.from(v);
    for (const form of [b.toString('utf8'), b.toString('base64'), b.toString('hex')]) {
      if (text.includes(form)) assert.fail(`${where} contains a secret value (${v.length} bytes): never put a value in a message or a log entry`);
    }
  }
}

function collectingLog(into: string[]): DriverLog {
  const record = (level: string) => (fields: object, message: string) => {
    into.push(`${level} ${message} ${safeShow(fields)}`);
  };
  return { debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error') };
}

function describeError(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : `a thrown ${typeName(e)} (not an Error)`;
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (v instanceof Uint8Array) return v.constructor.name;
  if (typeof v === 'object') return v.constructor?.name ?? 'object';
  return typeof v;
}

function safeShow(v: unknown): string {
  try {
    return JSON.stringify(v, (_k, x: unknown) => (x instanceof Uint8Array ? `<${x.length} bytes>` : x)) ?? String(v);
  } catch {
    return String(v);
  }
}
