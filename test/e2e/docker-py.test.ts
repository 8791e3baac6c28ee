/**
 * docker-py (Debian's python3-docker 5.0.3 under the system python) against a real secretd.
 * Each test runs one scenario of fixtures/docker_py_secrets.py, which prints what docker-py saw
 * as JSON; the assertions live here.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startDaemon, type Daemon } from '../helpers/daemon.ts';
import { dockerPyMissing, SYSTEM_PYTHON } from '../helpers/tools.ts';

const SCRIPT = fileURLToPath(new URL('./fixtures/docker_py_secrets.py', import.meta.url));
const ID = /^[a-z0-9]{25}$/;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;

interface SecretAttrs {
  ID: string;
  Version?: { Index: number };
  CreatedAt?: string;
  UpdatedAt?: string;
  Spec: { Name: string; Labels?: Record<string, string>; Data?: unknown };
}

interface PySecret {
  id: string;
  name: string;
  attrs: SecretAttrs;
}

interface PyError {
  type: string;
  status: number;
  explanation: string;
  is_not_found: boolean;
  is_api_error: boolean;
}

function assertInspected(secret: PySecret, name: string, labels: Record<string, string>): void {
  assert.match(secret.id, ID);
  assert.equal(secret.name, name);
  assert.equal(secret.attrs.ID, secret.id);
  assert.equal(typeof secret.attrs.Version?.Index, 'number');
  assert.match(secret.attrs.CreatedAt ?? '', TIMESTAMP);
  assert.match(secret.attrs.UpdatedAt ?? '', TIMESTAMP);
  assert.deepEqual(secret.attrs.Spec.Labels, labels);
  assert.equal('Data' in secret.attrs.Spec, false, 'Spec.Data must never be returned');
}

const skip = dockerPyMissing();

describe('docker-py against secretd', { skip }, () => {
  let daemon: Daemon;
  let run = 0;

  /** Runs one scenario with a fresh name prefix and returns its parsed JSON output. */
  function scenario<T>(name: string): { prefix: string; result: T } {
    const prefix = `py${process.pid}-${++run}-${name}`;
    const res = spawnSync(SYSTEM_PYTHON, [SCRIPT, name, prefix], {
      env: { ...process.env, DOCKER_HOST: daemon.host, PYTHONDONTWRITEBYTECODE: '1' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(res.error, undefined, `could not run ${SYSTEM_PYTHON}: ${String(res.error)}`);
    assert.equal(res.status, 0, `scenario ${name} failed:\n${res.stderr}\n--- daemon logs ---\n${daemon.logs.slice(-4000)}`);
    return { prefix, result: JSON.parse(res.stdout) as T };
  }

  before(async () => {
    daemon = await startDaemon();
  });

  after(async () => {
    await daemon?.dispose();
  });

  test('secrets.create stores str and bytes data with labels, and get shows them without Data', () => {
    const { prefix, result } = scenario<{
      api_version: string;
      created_text: PySecret;
      created_bytes: PySecret;
      text: PySecret;
      bytes: PySecret;
    }>('create');
    // docker-py negotiated the version through GET /version.
    assert.equal(result.api_version, '1.44');
    assert.match(result.created_text.id, ID);
    assert.match(result.created_bytes.id, ID);
    assert.notEqual(result.created_text.id, result.created_bytes.id);
    assert.equal(result.created_text.name, `${prefix}-text`);
    assertInspected(result.text, `${prefix}-text`, { app: 'web', tier: 'front' });
    assert.equal(result.text.id, result.created_text.id);
    assertInspected(result.bytes, `${prefix}-bytes`, {});
    assert.equal(result.bytes.id, result.created_bytes.id);
  });

  test('secrets.list filters by exact names and by label key or key=value', () => {
    const { prefix, result } = scenario<{
      all: string[];
      by_names: string[];
      by_missing_name: string[];
      by_label_value: string[];
      by_label_key: string[];
      by_two_labels: string[];
      listed: SecretAttrs[];
    }>('list');
    const mine = (names: string[]) => names.filter((n) => n.startsWith(`${prefix}-`));
    assert.deepEqual(mine(result.all), [`${prefix}-a`, `${prefix}-b`, `${prefix}-c`]);
    assert.deepEqual(result.by_names, [`${prefix}-a`, `${prefix}-c`]);
    assert.deepEqual(result.by_missing_name, []);
    assert.deepEqual(mine(result.by_label_value), [`${prefix}-b`]);
    assert.deepEqual(mine(result.by_label_key), [`${prefix}-a`, `${prefix}-b`]);
    assert.deepEqual(mine(result.by_two_labels), [`${prefix}-b`]);
    assert.equal(result.listed.length, 1);
    const [listed] = result.listed;
    assert.ok(listed);
    assert.equal(listed.Spec.Name, `${prefix}-b`);
    assert.deepEqual(listed.Spec.Labels, { tier: 'db', backup: 'yes' });
    assert.equal('Data' in listed.Spec, false, 'Spec.Data must never be listed');
  });

  test('secrets.get finds a secret by ID, by name in any case and by ID prefix, and raises NotFound for a miss', () => {
    const { prefix, result } = scenario<{
      id: string;
      by_id: PySecret;
      by_name: PySecret;
      by_other_case: PySecret;
      by_prefix: PySecret;
      missing: PyError | null;
    }>('get');
    for (const found of [result.by_id, result.by_name, result.by_other_case, result.by_prefix]) {
      assertInspected(found, `${prefix}-Target`, { k: 'v' });
      assert.equal(found.id, result.id);
    }
    assert.deepEqual(result.missing, {
      type: 'NotFound',
      status: 404,
      explanation: `secret ${prefix}-nothing not found`,
      is_not_found: true,
      is_api_error: true,
    });
  });

  test('secret.remove deletes only that secret and later lookups raise NotFound', () => {
    const { prefix, result } = scenario<{
      id: string;
      removed: unknown;
      get_after: PyError | null;
      get_by_name_after: PyError | null;
      remove_again: PyError | null;
      listed_after: string[];
      kept: PySecret;
    }>('remove');
    assert.equal(result.removed, true);
    const notFound = (what: string): PyError => ({
      type: 'NotFound',
      status: 404,
      explanation: `secret ${what} not found`,
      is_not_found: true,
      is_api_error: true,
    });
    assert.deepEqual(result.get_after, notFound(result.id));
    assert.deepEqual(result.get_by_name_after, notFound(`${prefix}-gone`));
    assert.deepEqual(result.remove_again, notFound(result.id));
    assert.deepEqual(result.listed_after, [`${prefix}-kept`]);
    assertInspected(result.kept, `${prefix}-kept`, {});
  });

  test('secrets.create with a name already taken, in any case, raises APIError 409 AlreadyExists', () => {
    const { prefix, result } = scenario<{
      first: string;
      same: PyError | null;
      other_case: PyError | null;
      listed: string[];
    }>('duplicate');
    assert.match(result.first, ID);
    assert.deepEqual(result.same, {
      type: 'APIError',
      status: 409,
      explanation: `rpc error: code = AlreadyExists desc = secret ${prefix}-dup already exists`,
      is_not_found: false,
      is_api_error: true,
    });
    assert.deepEqual(result.other_case, {
      type: 'APIError',
      status: 409,
      explanation: `rpc error: code = AlreadyExists desc = secret ${prefix}-DUP already exists`,
      is_not_found: false,
      is_api_error: true,
    });
    assert.deepEqual(result.listed, [result.first]);
  });
});
