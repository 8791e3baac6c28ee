/** The `file` driver against a real directory tree: symlinks, FIFOs, size bounds. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import fileDriver, { FILE_DRIVER, createFileDriver } from '../../drivers/file.ts';
import type { DriverLog, SecretDriver, SecretRequest, StringMap } from '../../src/drivers/types.ts';

/** The secret a create names, as validate receives it. */
const secret = (name = 'x') => ({ name, labels: {} });

const silent: DriverLog = { debug() {}, info() {}, warn() {}, error() {} };
const base = mkdtempSync(join(tmpdir(), 'secretd-file-'));
const root = join(base, 'root');
const outside = join(base, 'outside');

function request(name: string, options: StringMap = {}): SecretRequest {
  return { SecretName: name, SecretLabels: {}, Options: options };
}

async function configured(settings: StringMap = { root }): Promise<SecretDriver> {
  const d = createFileDriver();
  await d.init!({ settings, dataRoot: base, log: silent });
  return d;
}

const text = (v: Uint8Array) => Buffer.from(v).toString('utf8');

before(() => {
  mkdirSync(join(root, 'db'), { recursive: true });
  mkdirSync(outside);
  writeFileSync(join(root, 'api-key'), 'top-secret-api-key');
  writeFileSync(join(root, 'db', 'password'), 'db-pass-value\n');
  writeFileSync(join(root, 'empty'), '');
  writeFileSync(join(root, 'max'), Buffer.alloc(511999, 0x61));
  writeFileSync(join(root, 'too-big'), Buffer.alloc(512000, 0x62));
  writeFileSync(join(outside, 'stolen'), 'OUTSIDE-VALUE');
  symlinkSync(join(outside, 'stolen'), join(root, 'escape-link'));
  symlinkSync(outside, join(root, 'escape-dir'));
  symlinkSync('api-key', join(root, 'inner-link'));
  execFileSync('mkfifo', [join(root, 'fifo')]);
});

after(() => rmSync(base, { recursive: true, force: true }));

describe('file driver', () => {
  test('matches the secret driver interface', () => {
    assert.equal(fileDriver.name, FILE_DRIVER);
    assert.equal(fileDriver.kind, 'secret');
    assert.equal(typeof fileDriver.get, 'function');
    assert.equal(typeof fileDriver.validate, 'function');
  });

  test('reads the file named after the secret', async () => {
    const d = await configured();
    assert.equal(text((await d.get(request('api-key'))).value), 'top-secret-api-key');
  });

  test('reads the file given by option path, bytes as they are', async () => {
    const d = await configured();
    await d.validate!({ path: 'db/password' }, secret());
    assert.equal(text((await d.get(request('anything', { path: 'db/password' }))).value), 'db-pass-value\n');
  });

  test('accepts a value of exactly 511999 bytes', async () => {
    const d = await configured();
    assert.equal((await d.get(request('max'))).value.length, 511999);
  });

  test('follows a symlink that stays inside the root', async () => {
    const d = await configured();
    assert.equal(text((await d.get(request('inner-link'))).value), 'top-secret-api-key');
  });

  test('refuses everything until root is set, saying how to set it', async () => {
    const d = await configured({});
    await assert.rejects(async () => d.validate!({}, secret()), /not configured: start secretd with --driver-opt file\.root=DIR/);
    await assert.rejects(async () => d.get(request('api-key')), /not configured/);
    await assert.rejects(async () => fileDriver.get(request('api-key')), /not configured/);
  });

  test('refuses to start with a missing root or an unknown setting', async () => {
    await assert.rejects(configured({ root: join(base, 'nope') }), /setting "root": .* is not a directory/);
    await assert.rejects(configured({ root: join(root, 'api-key') }), /is not a directory/);
    await assert.rejects(configured({ root, roots: '/' }), /unknown setting "roots"/);
  });

  test('refuses unknown option keys at validate and at get', async () => {
    const d = await configured();
    await assert.rejects(async () => d.validate!({ path: 'api-key', mode: '0600' }, secret()), /unknown option "mode"/);
    await assert.rejects(async () => d.get(request('api-key', { follow: 'yes' })), /unknown option "follow"/);
  });

  test('refuses absolute paths, .. segments and NUL bytes at validate and at get', async () => {
    const d = await configured();
    for (const path of [join(outside, 'stolen'), '../outside/stolen', 'db/../../outside/stolen', '..', 'api-key\0x', '']) {
      await assert.rejects(async () => d.validate!({ path }, secret()), Error, `validate ${JSON.stringify(path)}`);
      await assert.rejects(async () => d.get(request('x', { path })), Error, `get ${JSON.stringify(path)}`);
    }
    await assert.rejects(async () => d.get(request('../outside/stolen')), /has a "\.\." segment/);
  });

  test('refuses a symlink whose target escapes the root, at validate and at get', async () => {
    const d = await configured();
    await assert.rejects(async () => d.validate!({ path: 'escape-link' }, secret()), /resolves outside the root/);
    await assert.rejects(async () => d.get(request('escape-link')), /resolves outside the root/);
    await assert.rejects(async () => d.get(request('x', { path: 'escape-dir/stolen' })), /resolves outside the root/);
  });

  test('refuses a directory', async () => {
    const d = await configured();
    await assert.rejects(async () => d.validate!({ path: 'db' }, secret()), /is not a regular file/);
    await assert.rejects(async () => d.get(request('db')), /is not a regular file/);
  });

  test('refuses a FIFO without blocking on it', async () => {
    const d = await configured();
    const started = Date.now();
    await assert.rejects(async () => d.validate!({ path: 'fifo' }, secret()), /is not a regular file/);
    await assert.rejects(async () => d.get(request('fifo')), /is not a regular file/);
    assert.ok(Date.now() - started < 2000);
  });

  test('refuses an empty file and a file over 511999 bytes', async () => {
    const d = await configured();
    await assert.rejects(async () => d.validate!({ path: 'empty' }, secret()), /file "empty" is empty/);
    await assert.rejects(async () => d.get(request('empty')), /is empty/);
    await assert.rejects(async () => d.validate!({ path: 'too-big' }, secret()), /larger than 511999 bytes/);
    await assert.rejects(async () => d.get(request('too-big')), /larger than 511999 bytes/);
  });

  test('accepts a path to a file not there yet, and fails at get until it is', async () => {
    const d = await configured();
    await d.validate!({ path: 'later/token' }, secret());
    await assert.rejects(async () => d.get(request('x', { path: 'later/token' })), /no file "later\/token" under the root/);
    mkdirSync(join(root, 'later'));
    writeFileSync(join(root, 'later', 'token'), 'arrived');
    assert.equal(text((await d.get(request('x', { path: 'later/token' }))).value), 'arrived');
  });

  test('never puts a file content in an error message', async () => {
    const d = await configured();
    const messages: string[] = [];
    for (const name of ['escape-link', 'too-big', 'db', 'missing']) {
      await Promise.resolve(d.get(request(name))).catch((e: Error) => messages.push(e.message));
    }
    assert.equal(messages.length, 4);
    for (const m of messages) assert.doesNotMatch(m, /OUTSIDE-VALUE|bbbb/);
  });
});
