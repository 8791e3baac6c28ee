/** Loading a compose file's secrets: section: shapes, the loader's rules, interpolation, specs. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, test } from 'node:test';
import { loadComposeSecrets } from '../../src/cli/compose.ts';
import { interpolateString } from '../../src/cli/interpolate.ts';
import { composeToSpecs } from '../../src/cli/stack.ts';

const dir = mkdtempSync(join(tmpdir(), 'secretd-compose-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function load(yaml: string, env: NodeJS.ProcessEnv = {}) {
  const warnings: string[] = [];
  const secrets = loadComposeSecrets(yaml, { workingDir: '/srv/app', env, warn: (m) => warnings.push(m) });
  return { secrets, warnings };
}

describe('loadComposeSecrets', () => {
  test('reads file, environment, driver, template_driver, labels in both forms and name', () => {
    const { secrets } = load(`
version: "3.8"
services: { web: { image: nginx } }
secrets:
  db: { file: ./db.txt, labels: { team: core, n: 1, empty: null } }
  api: { environment: API_KEY, labels: [a=b, c] }
  vault: { driver: vault, driver_opts: { path: kv/app, ttl: 30 }, template_driver: golang }
  custom: { name: shared_name, file: /abs/x }
x-extension: anything
`);
    assert.deepEqual(secrets, [
      { key: 'db', external: false, labels: { team: 'core', n: '1', empty: '' }, file: '/srv/app/db.txt' },
      { key: 'api', external: false, labels: { a: 'b', c: '' }, environment: 'API_KEY' },
      { key: 'vault', external: false, labels: {}, driver: 'vault', driverOpts: { path: 'kv/app', ttl: '30' }, templateDriver: 'golang' },
      { key: 'custom', external: false, labels: {}, name: 'shared_name', file: '/abs/x' },
    ]);
  });

  test('an external secret takes its key as name unless name or the deprecated external.name is set', () => {
    const { secrets, warnings } = load(`
secrets:
  plain: { external: true }
  named: { external: true, name: real_one }
  legacy: { external: { name: old_style } }
  off: { external: false, file: f }
`);
    assert.deepEqual(
      secrets.map((s) => [s.key, s.external, s.name]),
      [
        ['plain', true, 'plain'],
        ['named', true, 'real_one'],
        ['legacy', true, 'old_style'],
        ['off', false, undefined],
      ],
    );
    assert.deepEqual(warnings, ['secret legacy: secret.external.name is deprecated in favor of secret.name']);
  });

  test('anchors and merge keys are resolved by the YAML parser', () => {
    const { secrets } = load(`
x-common: &common { labels: { tier: backend } }
secrets:
  one: { <<: *common, file: one.txt }
`);
    assert.deepEqual(secrets[0]?.labels, { tier: 'backend' });
  });

  test('no secrets: section gives no secrets', () => {
    assert.deepEqual(load('services: {}\n').secrets, []);
    assert.deepEqual(load('secrets:\n').secrets, []);
  });

  const refused: [string, string, RegExp | string][] = [
    ['an unknown field', 'secrets: { db: { fil: x } }', 'secrets.db Additional property fil is not allowed'],
    ['a key outside the allowed characters', 'secrets: { "a b": { file: x } }', 'secrets Additional property a b is not allowed'],
    ['labels of the wrong type', 'secrets: { db: { file: x, labels: 3 } }', 'secrets.db.labels must be a mapping or list'],
    [
      'a driver option that is not a string or number',
      'secrets: { db: { driver: d, driver_opts: { a: [1] } } }',
      'secrets.db.driver_opts.a must be a string or number',
    ],
    ['file and driver together', 'secrets: { db: { file: x, driver: d } }', 'secret db: secret.driver and secret.file conflict; only use secret.driver'],
    ['file and environment together', 'secrets: { db: { file: x, environment: E } }', 'secret db: secret.file and secret.environment conflict; only use one'],
    ['no source at all', 'secrets: { db: { labels: { a: b } } }', 'secret db: one of file, environment, driver or external is required'],
    ['external with a file', 'secrets: { db: { external: true, file: x } }', 'secrets.db: conflicting parameters "external" and "file" specified'],
    [
      'external.name beside name',
      'secrets: { db: { external: { name: a }, name: b } }',
      'secret db: secret.external.name and secret.name conflict; only use secret.name',
    ],
    ['a top level that is not a mapping', '- just\n- a list\n', 'top-level object must be a mapping'],
    ['malformed YAML', 'secrets:\n  db: [unclosed\n', /^yaml: /],
    ['duplicate keys', 'secrets:\n  db: { file: a }\n  db: { file: b }\n', /^yaml: .*[Uu]nique/],
  ];
  for (const [what, yaml, message] of refused) {
    test(`refuses ${what}`, () => {
      assert.throws(
        () => load(yaml),
        (e: Error) => (typeof message === 'string' ? e.message === message : message.test(e.message)) || assert.fail(e.message),
      );
    });
  }
});

describe('interpolation', () => {
  const env = { SET: 'v', EMPTY: '' };
  const cases: [string, string][] = [
    ['$SET and ${SET}', 'v and v'],
    ['${EMPTY:-d} ${EMPTY-d} ${UNSET-d}', 'd  d'],
    ['cost $$5', 'cost $5'],
    ['${SET:?needed}', 'v'],
  ];
  for (const [text, expected] of cases) {
    test(`${text} → ${JSON.stringify(expected)}`, () => assert.equal(interpolateString(text, { env, warn: () => {} }), expected));
  }

  test('an unset variable becomes empty with docker’s warning', () => {
    const warnings: string[] = [];
    assert.equal(interpolateString('a${NOPE}b', { env, warn: (m) => warnings.push(m) }), 'ab');
    assert.deepEqual(warnings, ['The "NOPE" variable is not set. Defaulting to a blank string.']);
  });

  test('${VAR:?message} fails with docker’s words, and a malformed template is refused', () => {
    assert.throws(() => interpolateString('${EMPTY:?set it}', { env, warn: () => {} }), { message: 'required variable EMPTY is missing a value: set it' });
    assert.throws(() => interpolateString('${1x}', { env, warn: () => {} }), { message: 'Invalid template: "${1x}"' });
  });

  test('applies inside the secrets section before validation', () => {
    const { secrets } = load('secrets:\n  db: { name: "${APP}_db", file: "${DIR:-conf}/db", external: "${EXT:-false}" }\n', { APP: 'shop' });
    assert.deepEqual(secrets[0], { key: 'db', external: false, labels: {}, name: 'shop_db', file: '/srv/app/conf/db' });
  });
});

describe('composeToSpecs', () => {
  const quiet = { err: { write: () => true } as unknown as NodeJS.WritableStream, stdin: Readable.from([]) };

  test('builds the specs docker stack deploy sends: scoped names, namespace label, data, driver, templating', async () => {
    writeFileSync(join(dir, 'db.txt'), 'pw\n');
    writeFileSync(
      join(dir, 'compose.yml'),
      `secrets:
  db: { file: db.txt, labels: { team: core } }
  api: { environment: API_KEY }
  vault: { driver: vault, driver_opts: { path: kv }, template_driver: golang }
  shared: { name: global_name, file: ./db.txt }
  pre: { external: true, name: made_before }
`,
    );
    const { specs, external } = await composeToSpecs(join(dir, 'compose.yml'), 'app', quiet, { API_KEY: 'k3y' });
    const ns = { 'com.docker.stack.namespace': 'app' };
    assert.deepEqual(specs, [
      { Name: 'app_db', Labels: { team: 'core', ...ns }, Data: Buffer.from('pw\n').toString('base64') },
      { Name: 'app_api', Labels: ns, Data: Buffer.from('k3y').toString('base64') },
      { Name: 'app_vault', Labels: ns, Driver: { Name: 'vault', Options: { path: 'kv' } }, Templating: { Name: 'golang' } },
      { Name: 'global_name', Labels: ns, Data: Buffer.from('pw\n').toString('base64') },
    ]);
    assert.deepEqual(external, ['made_before']);
  });

  test('a missing file or variable fails in Go’s and our words', async () => {
    writeFileSync(join(dir, 'missing.yml'), 'secrets:\n  db: { file: nothere.txt }\n');
    await assert.rejects(composeToSpecs(join(dir, 'missing.yml'), 'app', quiet, {}), {
      message: `open ${join(dir, 'nothere.txt')}: no such file or directory`,
    });
    writeFileSync(join(dir, 'env.yml'), 'secrets:\n  api: { environment: NOT_SET }\n');
    await assert.rejects(composeToSpecs(join(dir, 'env.yml'), 'app', quiet, {}), { message: 'secret api: environment variable NOT_SET is not set' });
    await assert.rejects(composeToSpecs(join(dir, 'absent.yml'), 'app', quiet, {}), { message: `open ${join(dir, 'absent.yml')}: no such file or directory` });
  });
});
