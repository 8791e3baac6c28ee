/** The `env` driver against the real process environment. */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import envDriver, { ENV_DRIVER, createEnvDriver } from '../../drivers/env.ts';
import type { DriverLog, SecretDriver, SecretRequest, StringMap } from '../../src/drivers/types.ts';

/** The secret a create names, as validate receives it. */
const secret = (name = 'x') => ({ name, labels: {} });

const silent: DriverLog = { debug() {}, info() {}, warn() {}, error() {} };
const set = ['SECRETD_T_DB', 'SECRETD_T_APP_ONE', 'SECRETD_T_EMPTY', 'SECRETD_T_BIG', 'SECRETD_T_OTHER'];

function request(name: string, options: StringMap = {}): SecretRequest {
  return { SecretName: name, SecretLabels: {}, Options: options };
}

function configured(settings: StringMap): SecretDriver {
  const d = createEnvDriver();
  d.init!({ settings, dataRoot: '/nonexistent', log: silent });
  return d;
}

const text = (v: Uint8Array) => Buffer.from(v).toString('utf8');

process.env.SECRETD_T_DB = 'db-env-value';
process.env.SECRETD_T_APP_ONE = 'app-one-value';
process.env.SECRETD_T_EMPTY = '';
process.env.SECRETD_T_BIG = 'x'.repeat(512000);
process.env.SECRETD_T_OTHER = 'OTHER-VALUE';
after(() => {
  for (const n of set) delete process.env[n];
});

describe('env driver', () => {
  test('matches the secret driver interface', () => {
    assert.equal(envDriver.name, ENV_DRIVER);
    assert.equal(envDriver.kind, 'secret');
    assert.equal(typeof envDriver.get, 'function');
  });

  test('reads an allow-listed variable named after the secret', async () => {
    const d = configured({ allow: 'SECRETD_T_DB' });
    assert.equal(text((await d.get(request('SECRETD_T_DB'))).value), 'db-env-value');
  });

  test('reads the variable given by option name, matched by a PREFIX_* glob', async () => {
    const d = configured({ allow: 'SECRETD_T_DB, SECRETD_T_APP_*' });
    await d.validate!({ name: 'SECRETD_T_APP_ONE' }, secret());
    assert.equal(text((await d.get(request('app-one', { name: 'SECRETD_T_APP_ONE' }))).value), 'app-one-value');
  });

  test('reads the environment at get time, not at start', async () => {
    const d = configured({ allow: 'SECRETD_T_LATE' });
    await assert.rejects(async () => d.get(request('SECRETD_T_LATE')), /variable SECRETD_T_LATE is not set/);
    process.env.SECRETD_T_LATE = 'late';
    try {
      assert.equal(text((await d.get(request('SECRETD_T_LATE'))).value), 'late');
    } finally {
      delete process.env.SECRETD_T_LATE;
    }
  });

  test('refuses everything when nothing is allow-listed, saying how to allow', async () => {
    for (const d of [createEnvDriver(), configured({}), envDriver]) {
      await assert.rejects(async () => d.validate!({}, secret()), /no variable is allowed: start secretd with --driver-opt env\.allow=/);
      await assert.rejects(async () => d.get(request('SECRETD_T_DB')), /no variable is allowed/);
    }
  });

  test('refuses a variable outside the allow-list at validate and at get', async () => {
    const d = configured({ allow: 'SECRETD_T_DB,SECRETD_T_APP_*' });
    await assert.rejects(async () => d.validate!({ name: 'SECRETD_T_OTHER' }, secret()), /variable SECRETD_T_OTHER is not allowed/);
    await assert.rejects(async () => d.validate!({ name: 'PATH' }, secret()), /not allowed/);
    // Without a name option the secret's own name is the variable, checked at create too.
    await assert.rejects(async () => d.validate!({}, secret('SECRETD_T_OTHER')), /variable SECRETD_T_OTHER is not allowed/);
    await d.validate!({}, secret('SECRETD_T_APP_ONE'));
    await assert.rejects(async () => d.get(request('SECRETD_T_OTHER')), /not allowed/);
    await assert.rejects(async () => d.get(request('x', { name: 'SECRETD_T_APP' })), /not allowed/);
    await assert.rejects(async () => d.get(request('x', { name: 'secretd_t_db' })), /not allowed/);
  });

  test('refuses names that are not variable names, and unknown option keys', async () => {
    const d = configured({ allow: 'SECRETD_T_*' });
    await assert.rejects(async () => d.validate!({ name: 'SECRETD_T_DB=x' }, secret()), /is not a variable name/);
    await assert.rejects(async () => d.get(request('db-password')), /"db-password" is not a variable name/);
    await assert.rejects(async () => d.validate!({ name: 'SECRETD_T_DB', var: 'x' }, secret()), /unknown option "var"/);
  });

  test('fails clearly on an empty or oversized variable, without its value', async () => {
    const d = configured({ allow: 'SECRETD_T_*' });
    await assert.rejects(async () => d.get(request('SECRETD_T_EMPTY')), /variable SECRETD_T_EMPTY is empty/);
    await assert.rejects(
      async () => d.get(request('SECRETD_T_BIG')),
      (e: Error) => /larger than 511999 bytes/.test(e.message) && !e.message.includes('xxxx'),
    );
  });

  test('refuses a bare * or a malformed allow entry, and unknown settings, at start', () => {
    assert.throws(() => configured({ allow: '*' }), /setting "allow": a bare \*/);
    assert.throws(() => configured({ allow: 'OK,BAD-NAME' }), /"BAD-NAME" is neither a variable name nor a PREFIX_\* glob/);
    assert.throws(() => configured({ allow: 'A*B' }), /neither/);
    assert.throws(() => configured({ allowed: 'A' }), /unknown setting "allowed"/);
  });
});
