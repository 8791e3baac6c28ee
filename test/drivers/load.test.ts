/**
 * Driver loading: modules are checked when they load, and every problem names the module. The
 * daemon half starts real daemons (`npm start -- --driver …`) and reads what a user reads.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { BUILTIN_DRIVERS_DIR, checkDriver, driverFiles, DriverLoadError, loadDriver } from '../../src/drivers/load.ts';
import { DriverRegistry } from '../../src/drivers/registry.ts';
import type { DriverLog } from '../../src/drivers/types.ts';
import { startDaemon } from '../helpers/daemon.ts';

const dir = mkdtempSync(join(tmpdir(), 'secretd-load-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const silent: DriverLog = { debug() {}, info() {}, warn() {}, error() {} };

/** Writes a module into the scratch folder and returns its path. */
function module(file: string, source: string): string {
  const path = join(dir, file);
  writeFileSync(path, source);
  return path;
}

const GOOD_TS = `
import type { SecretDriver } from '${join(process.cwd(), 'src/drivers/types.ts')}';
const driver: SecretDriver = { kind: 'secret', name: 'typed', get: () => ({ value: new TextEncoder().encode('v') }) };
export default driver;
`;

describe('loadDriver', () => {
  test('loads a TypeScript module and a JavaScript module by path, absolute or relative to the cwd', async () => {
    const ts = await loadDriver(module('typed.ts', GOOD_TS));
    assert.equal(ts.driver.name, 'typed');
    const jsPath = module('plain.mjs', "export default { kind: 'templating', name: 'upper', render: (t) => t };");
    const js = await loadDriver(`./${jsPath.slice(dir.length + 1)}`, dir);
    assert.equal(js.driver.kind, 'templating');
    assert.equal(js.source, './plain.mjs');
  });

  test('loads an installed package by name from the cwd, CommonJS included', async () => {
    const pkg = join(dir, 'node_modules', 'secretd-driver-demo');
    mkdirSync(pkg, { recursive: true });
    writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: 'secretd-driver-demo', main: 'index.js' }));
    writeFileSync(join(pkg, 'index.js'), "module.exports = { kind: 'secret', name: 'demo', get: () => ({ value: Buffer.from('d') }) };");
    const loaded = await loadDriver('secretd-driver-demo', dir);
    assert.equal(loaded.driver.name, 'demo');
    assert.equal(loaded.source, 'secretd-driver-demo');
  });

  const broken: [string, string, RegExp][] = [
    ['no-default.mjs', 'export const driver = {};', /^driver \S+no-default\.mjs: the module must default-export a driver object$/],
    ['bad-kind.mjs', "export default { kind: 'vault', name: 'x', get() {} };", /"kind" must be "secret", "templating" or "provider", not "vault"/],
    ['bad-name.mjs', "export default { kind: 'secret', name: '../x', get() {} };", /"name" must be 1 to 64 characters/],
    ['no-get.mjs', "export default { kind: 'secret', name: 'x' };", /a secret driver must have a "get" function/],
    ['no-render.mjs', "export default { kind: 'templating', name: 'x', get() {} };", /a templating driver must have a "render" function/],
    ['no-resolve.mjs', "export default { kind: 'provider', name: 'x' };", /a provider driver must have a "resolve" function/],
    ['bad-hook.mjs', "export default { kind: 'secret', name: 'x', get() {}, validate: 'yes' };", /"validate" must be a function when present/],
    ['throws.mjs', "throw new Error('boom at import');", /^driver \S+throws\.mjs failed to load: boom at import$/],
    ['syntax.ts', 'export default {', /^driver \S+syntax\.ts failed to load: /],
  ];
  for (const [file, source, message] of broken) {
    test(`refuses ${file} with a message naming it`, async () => {
      await assert.rejects(loadDriver(module(file, source)), (e: Error) => e instanceof DriverLoadError && message.test(e.message));
    });
  }

  test('a path or package that does not exist is named in the error', async () => {
    await assert.rejects(
      loadDriver('./nowhere.ts', dir),
      (e: Error) => e instanceof DriverLoadError && e.message.startsWith('driver ./nowhere.ts failed to load'),
    );
    await assert.rejects(loadDriver('no-such-secretd-driver', dir), /^DriverLoadError: driver no-such-secretd-driver: no such file or installed package/);
  });

  test('checkDriver refuses values that are not objects', () => {
    for (const v of [null, undefined, 42, 'driver', () => {}]) {
      assert.throws(() => checkDriver(v, 'x.ts'), /^DriverLoadError: driver x\.ts: the module must default-export a driver object$/);
    }
  });
});

describe('the built-in drivers', () => {
  test('drivers/ holds modules only; each loads and passes the shape checks, with a unique name', async () => {
    const registry = new DriverRegistry();
    const files = driverFiles(BUILTIN_DRIVERS_DIR);
    assert.ok(files.length >= 4, `built-ins: ${files.join(', ')}`);
    for (const f of files) registry.register((await loadDriver(f)).driver, f);
    assert.deepEqual(
      registry.names('secret').filter((n) => ['env', 'exec', 'file'].includes(n)),
      ['env', 'exec', 'file'],
    );
    assert.deepEqual(registry.names('provider'), ['docker-plugins']);
  });
});

describe('DriverRegistry', () => {
  test('a second driver with a taken name is refused, naming both sources', () => {
    const registry = new DriverRegistry();
    registry.register({ kind: 'secret', name: 'dup', get: () => ({ value: new Uint8Array([1]) }) }, 'drivers/a.ts');
    assert.throws(
      () => registry.register({ kind: 'templating', name: 'dup', render: (t) => t }, './b.ts'),
      /^DriverLoadError: two drivers are named "dup": drivers\/a\.ts and \.\/b\.ts$/,
    );
  });

  test('init hands each driver its own settings; settings for a driver not loaded stop start-up', async () => {
    const seen: Record<string, unknown> = {};
    const registry = new DriverRegistry();
    registry.register({ kind: 'secret', name: 'a', init: (s) => void (seen.a = s.settings), get: () => ({ value: new Uint8Array([1]) }) });
    registry.register({ kind: 'secret', name: 'b', init: (s) => void (seen.b = s.settings), get: () => ({ value: new Uint8Array([1]) }) });
    await registry.init({ a: { root: '/srv' } }, dir, () => silent);
    assert.deepEqual(seen, { a: { root: '/srv' }, b: {} });
    await assert.rejects(
      registry.init({ c: { x: '1' } }, dir, () => silent),
      /^DriverLoadError: --driver-opt c\.…: no driver named "c" is loaded$/,
    );
  });

  test('an init that throws stops start-up with the driver named; close reaches every driver even if one fails', async () => {
    const registry = new DriverRegistry();
    const closed: string[] = [];
    registry.register(
      {
        kind: 'secret',
        name: 'bad',
        init: () => {
          throw new Error('no vault address');
        },
        get: () => ({ value: new Uint8Array([1]) }),
      },
      'x.ts',
    );
    await assert.rejects(
      registry.init({}, dir, () => silent),
      /^DriverLoadError: driver bad \(x\.ts\) failed to start: no vault address$/,
    );
    const two = new DriverRegistry();
    two.register({
      kind: 'secret',
      name: 'p',
      close: () => {
        closed.push('p');
        throw new Error('x');
      },
      get: () => ({ value: new Uint8Array([1]) }),
    });
    two.register({ kind: 'secret', name: 'q', close: () => void closed.push('q'), get: () => ({ value: new Uint8Array([1]) }) });
    const errors: string[] = [];
    await two.close((name) => errors.push(name));
    assert.deepEqual(closed, ['p', 'q']);
    assert.deepEqual(errors, ['p']);
  });

  test('a secret-driver name not loaded in-process is asked of the providers, in order', async () => {
    const registry = new DriverRegistry();
    const asked: string[] = [];
    const found = { kind: 'secret' as const, name: 'remote', get: () => ({ value: new Uint8Array([1]) }) };
    registry.register({
      kind: 'provider',
      name: 'p1',
      resolve: (n) => {
        asked.push(`p1:${n}`);
        return undefined;
      },
    });
    registry.register({
      kind: 'provider',
      name: 'p2',
      resolve: (n) => {
        asked.push(`p2:${n}`);
        return n === 'remote' ? found : undefined;
      },
    });
    assert.equal(await registry.secretDriver('remote'), found);
    assert.equal(await registry.secretDriver('absent'), undefined);
    assert.deepEqual(asked, ['p1:remote', 'p2:remote', 'p1:absent', 'p2:absent']);
    assert.equal(registry.templatingDriver('remote'), undefined);
  });
});

describe('a daemon started with a bad driver', () => {
  const cases: [string, string[], RegExp][] = [
    ['a module that does not load', ['--driver', join(dir, 'throws.mjs')], /^secretd: driver \S+throws\.mjs failed to load: boom at import$/m],
    ['a module with a built-in name', ['--driver', 'DUP'], /^secretd: two drivers are named "file": drivers\/file\.ts and \S+dup-file\.mjs$/m],
    ['settings for no loaded driver', ['--driver-opt', 'vault.addr=x'], /^secretd: --driver-opt vault\.…: no driver named "vault" is loaded$/m],
    ['a malformed --driver-opt', ['--driver-opt', 'file-root=/x'], /^secretd: --driver-opt "file-root=\/x": use NAME\.KEY=VALUE/m],
    ['a built-in whose settings are wrong', ['--driver-opt', 'file.root=/no/such/dir'], /^secretd: driver file \(drivers\/file\.ts\) failed to start: /m],
  ];
  for (const [what, args, message] of cases) {
    test(`stops at start, exit 1, for ${what}`, async () => {
      module('throws.mjs', "throw new Error('boom at import');");
      const dup = module('dup-file.mjs', "export default { kind: 'secret', name: 'file', get: () => ({ value: new Uint8Array([1]) }) };");
      const argv = args.map((a) => (a === 'DUP' ? dup : a));
      await assert.rejects(startDaemon({ args: argv }), (e: Error) => {
        assert.match(e.message, /^secretd exited with 1 before answering/);
        assert.match(e.message, message);
        return true;
      });
    });
  }

  test('a --driver module is served: a secret naming it is created and inspected as dockerd shows it', async () => {
    const path = module(
      'upper.mjs',
      "export default { kind: 'secret', name: 'extra', validate(o) { if (o.bad) throw new Error('bad option'); }, get: () => ({ value: Buffer.from('x') }) };",
    );
    const daemon = await startDaemon({ args: ['--driver', path] });
    try {
      const created = await daemon.request({ method: 'POST', path: '/secrets/create', body: { Name: 'e', Driver: { Name: 'extra', Options: { k: 'v' } } } });
      assert.equal(created.status, 201, created.text);
      const inspected = await daemon.request({ path: `/secrets/${created.json.ID}` });
      assert.deepEqual(inspected.json.Spec.Driver, { Name: 'extra', Options: { k: 'v' } });
      const refused = await daemon.request({ method: 'POST', path: '/secrets/create', body: { Name: 'f', Driver: { Name: 'extra', Options: { bad: '1' } } } });
      assert.equal(refused.status, 400);
      assert.deepEqual(refused.json, { message: 'secret driver extra: bad option' });
    } finally {
      await daemon.dispose();
    }
  });
});
