/**
 * dockerode (npm, v5) against a real secretd: the secret operations the way a Node program uses
 * them, with dockerode's own request encoding (options echoed into the query string, filters as
 * JSON, update's version inside the body as well).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Docker from 'dockerode';
import { startDaemon, type Daemon } from '../helpers/daemon.ts';

const ID = /^[a-z0-9]{25}$/;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;

/** What GET /secrets/{id} answers (dockerode's typings call it a Secret class, which it is not). */
interface SecretInfo {
  ID: string;
  Version: { Index: number };
  CreatedAt: string;
  UpdatedAt: string;
  Spec: { Name: string; Labels: Record<string, string>; Data?: unknown };
}

/** The error docker-modem rejects with for a status it does not expect. */
interface ModemError extends Error {
  statusCode?: number;
  json?: { message?: string } | null;
}

function b64(data: string | Buffer): string {
  return Buffer.from(data).toString('base64');
}

function assertSecretShape(info: SecretInfo): void {
  assert.match(info.ID, ID);
  assert.equal(typeof info.Version?.Index, 'number');
  assert.ok(Number.isInteger(info.Version.Index) && info.Version.Index > 0, `Version.Index ${info.Version.Index}`);
  assert.match(info.CreatedAt, TIMESTAMP);
  assert.match(info.UpdatedAt, TIMESTAMP);
  assert.equal(typeof info.Spec.Name, 'string');
  assert.equal(typeof info.Spec.Labels, 'object');
  assert.notEqual(info.Spec.Labels, null);
  assert.equal('Data' in info.Spec, false, `Spec.Data must never be returned (secret ${info.Spec.Name})`);
}

async function rejectsWith(promise: Promise<unknown>, status: number, message: string | RegExp): Promise<void> {
  await assert.rejects(promise, (err: ModemError) => {
    assert.equal(err.statusCode, status, `expected HTTP ${status}, got ${err.statusCode}: ${err.message}`);
    if (typeof message === 'string') assert.equal(err.json?.message, message);
    else assert.match(err.json?.message ?? '', message);
    return true;
  });
}

describe('dockerode against secretd', () => {
  let daemon: Daemon;
  let docker: Docker;

  const inspect = async (idOrName: string): Promise<SecretInfo> => {
    const info = (await docker.getSecret(idOrName).inspect()) as unknown as SecretInfo;
    assertSecretShape(info);
    return info;
  };

  const list = async (filters?: Record<string, unknown>): Promise<SecretInfo[]> => {
    const all = (await docker.listSecrets(filters ? { filters } : {})) as unknown as SecretInfo[];
    assert.ok(Array.isArray(all), 'listSecrets resolves to an array');
    for (const s of all) assertSecretShape(s);
    return all;
  };

  const create = async (Name: string, data: string | Buffer, Labels?: Record<string, string>): Promise<string> => {
    const secret = await docker.createSecret(Labels ? { Name, Data: b64(data), Labels } : { Name, Data: b64(data) });
    const id: unknown = secret.id;
    assert.equal(typeof id, 'string');
    assert.match(id as string, ID);
    return id as string;
  };

  before(async () => {
    daemon = await startDaemon();
    docker = new Docker({ socketPath: daemon.socket });
  });

  after(async () => {
    await daemon?.dispose();
  });

  test('createSecret answers with a 25-character ID and inspect shows the spec with empty Labels by default', async () => {
    const id = await create('dode-plain', 'hello');
    const info = await inspect(id);
    assert.equal(info.ID, id);
    assert.deepEqual(info.Spec, { Name: 'dode-plain', Labels: {} });
    assert.equal(info.CreatedAt, info.UpdatedAt);

    const labelled = await create('dode-labelled', 'x', { env: 'prod', 'com.example.owner': 'ops' });
    assert.notEqual(labelled, id);
    assert.deepEqual((await inspect(labelled)).Spec, {
      Name: 'dode-labelled',
      Labels: { env: 'prod', 'com.example.owner': 'ops' },
    });
  });

  test('listSecrets filters names by prefix with array filters and exactly with map-of-booleans filters', async () => {
    const db = await create('dode-list-db', 'a', { tier: 'back' });
    const dbx = await create('dode-list-dbx', 'b', { tier: 'front' });
    await create('dode-list-web', 'c');

    const names = (secrets: SecretInfo[]) => secrets.map((s) => s.Spec.Name).sort();
    const everything = await list();
    assert.ok(everything.length >= 3);
    assert.deepEqual(
      names(everything).filter((n) => n.startsWith('dode-list-')),
      ['dode-list-db', 'dode-list-dbx', 'dode-list-web'],
    );

    // `name` is a prefix filter; the array encoding is {"name":["dode-list-db"]}.
    assert.deepEqual(names(await list({ name: ['dode-list-db'] })), ['dode-list-db', 'dode-list-dbx']);
    // The same filter in the older map encoding {"name":{"dode-list-w":true}}.
    assert.deepEqual(names(await list({ name: { 'dode-list-w': true } })), ['dode-list-web']);
    // `names` matches whole names only, here in the map encoding.
    assert.deepEqual(names(await list({ names: { 'dode-list-db': true } })), ['dode-list-db']);
    assert.deepEqual(names(await list({ names: ['dode-list-db', 'dode-list-web'] })), ['dode-list-db', 'dode-list-web']);
    assert.deepEqual(await list({ names: { 'dode-list': true } }), []);
    // Labels and ID prefixes.
    assert.deepEqual(names(await list({ label: ['tier=back'] })), ['dode-list-db']);
    assert.deepEqual(names(await list({ label: { tier: true } })), ['dode-list-db', 'dode-list-dbx']);
    assert.deepEqual(
      (await list({ id: [dbx] })).map((s) => s.ID),
      [dbx],
    );
    assert.ok(
      (await list({ id: [db.slice(0, 8)] })).some((s) => s.ID === db),
      'id filters by prefix',
    );
    // Several filters together must all match.
    assert.deepEqual(names(await list({ name: ['dode-list-'], label: ['tier=front'] })), ['dode-list-dbx']);
  });

  test('a filter dockerd does not know is refused with 400', async () => {
    // dockerd 20.10 says "Invalid filter 'colour'"; later releases (API 1.44's) write it in lower case.
    await rejectsWith(docker.listSecrets({ filters: { colour: ['red'] } }), 400, /^invalid filter 'colour'$/i);
  });

  test('getSecret finds a secret by full ID, by exact name in any case, and by a unique ID prefix', async () => {
    const id = await create('dode-Lookup', 'x', { k: 'v' });
    for (const key of [id, 'dode-Lookup', 'DODE-lookup', id.slice(0, 10)]) {
      const info = await inspect(key);
      assert.equal(info.ID, id, `lookup by ${key}`);
      assert.equal(info.Spec.Name, 'dode-Lookup');
    }
    await rejectsWith(docker.getSecret('dode-nothing').inspect(), 404, 'secret dode-nothing not found');
  });

  test('update changes labels at the current version and is refused with 500 at a stale one', async () => {
    const id = await create('dode-update', 'x', { a: '1' });
    const before = await inspect(id);

    const answer: unknown = await docker.getSecret(id).update({
      version: before.Version.Index,
      Name: 'dode-update',
      Labels: { b: '2', c: '3' },
    });
    // dockerd answers 200 with an empty body, which docker-modem hands back as an empty Buffer or ''.
    assert.ok(answer === '' || (Buffer.isBuffer(answer) && answer.length === 0) || answer === undefined, `update answered ${String(answer)}`);

    const updated = await inspect(id);
    assert.deepEqual(updated.Spec, { Name: 'dode-update', Labels: { b: '2', c: '3' } });
    assert.ok(updated.Version.Index > before.Version.Index, 'the version moves forward');
    assert.equal(updated.CreatedAt, before.CreatedAt);
    assert.ok(Date.parse(updated.UpdatedAt) >= Date.parse(before.UpdatedAt));
    assert.notEqual(updated.UpdatedAt, before.UpdatedAt);

    // The version read before the first update is stale now.
    await rejectsWith(
      docker.getSecret(id).update({ version: before.Version.Index, Name: 'dode-update', Labels: { d: '4' } }),
      500,
      'rpc error: code = Unknown desc = update out of sequence',
    );
    assert.deepEqual((await inspect(id)).Spec.Labels, { b: '2', c: '3' }, 'a refused update changes nothing');

    // Only labels may change: a rename at the current version is refused.
    await rejectsWith(
      docker.getSecret(id).update({ version: updated.Version.Index, Name: 'dode-renamed', Labels: {} }),
      400,
      'rpc error: code = InvalidArgument desc = only updates to Labels are allowed',
    );
    // Without a version there is nothing to compare against.
    await rejectsWith(docker.getSecret(id).update({ Name: 'dode-update', Labels: {} }), 400, 'invalid secret version');
    const after = await inspect(id);
    assert.equal(after.Spec.Name, 'dode-update');
    assert.deepEqual(after.Spec.Labels, { b: '2', c: '3' });
    assert.equal(after.Version.Index, updated.Version.Index);

    // Clearing all labels works by name, too.
    await docker.getSecret('dode-update').update({ version: after.Version.Index, Name: 'dode-update', Labels: {} });
    assert.deepEqual((await inspect(id)).Spec.Labels, {});
  });

  test('remove deletes the secret, and later inspect and remove answer 404', async () => {
    const id = await create('dode-remove', 'x');
    const keep = await create('dode-remove-kept', 'y');
    await docker.getSecret(id).remove();
    await rejectsWith(docker.getSecret(id).inspect(), 404, `secret ${id} not found`);
    await rejectsWith(docker.getSecret('dode-remove').inspect(), 404, 'secret dode-remove not found');
    await rejectsWith(docker.getSecret(id).remove(), 404, `secret ${id} not found`);
    assert.deepEqual(
      (await list({ name: ['dode-remove'] })).map((s) => s.ID),
      [keep],
    );
    // The name is free again.
    const again = await create('dode-remove', 'z');
    assert.notEqual(again, id);
  });

  test('createSecret refuses a duplicate name with 409, also when only the case differs', async () => {
    const id = await create('dode-dup', 'one');
    await rejectsWith(
      docker.createSecret({ Name: 'dode-dup', Data: b64('two') }),
      409,
      'rpc error: code = AlreadyExists desc = secret dode-dup already exists',
    );
    await rejectsWith(
      docker.createSecret({ Name: 'DODE-Dup', Data: b64('three') }),
      409,
      'rpc error: code = AlreadyExists desc = secret DODE-Dup already exists',
    );
    assert.deepEqual(
      (await list({ name: ['dode-dup'] })).map((s) => s.ID),
      [id],
    );
  });

  test('binary data whose base64 has + and / is accepted', async () => {
    const bytes = Buffer.from([0xfb, 0xff, 0xbf, 0x00, 0xfe, 0x0a, 0x80]);
    const encoded = bytes.toString('base64');
    assert.ok(encoded.includes('+') && encoded.includes('/'), `precondition: ${encoded} has + and /`);
    const secret = await docker.createSecret({ Name: 'dode-binary', Data: encoded, Labels: { kind: 'bin' } });
    const info = await inspect(secret.id as string);
    assert.deepEqual(info.Spec, { Name: 'dode-binary', Labels: { kind: 'bin' } });
  });

  test('Data that is neither padded base64 alphabet is refused with 400; padded URL-safe is accepted', async () => {
    // Go decodes []byte with the standard padded alphabet; Engine 25 prefixes decode errors with
    // "invalid JSON: ". secretd also takes the padded URL-safe alphabet the v1.44 contract
    // documents (a deliberate deviation, listed in the README).
    for (const bad of ['!!!!', 'eA', 'eA===', '-_8']) {
      await assert.rejects(
        docker.createSecret({ Name: `dode-bad-${bad.length}-${bad.charCodeAt(0)}`, Data: bad }),
        (err: ModemError) => {
          assert.equal(err.statusCode, 400, `Data ${bad}: ${err.message}`);
          assert.match(err.json?.message ?? '', /^invalid JSON: illegal base64 data at input byte \d+$/);
          return true;
        },
        `Data ${JSON.stringify(bad)} is not padded base64 and must be refused with 400`,
      );
    }
    assert.deepEqual(await list({ name: ['dode-bad-'] }), []);
    const urlSafe = await docker.createSecret({ Name: 'dode-urlsafe', Data: Buffer.from([0xfb, 0xff, 0xfe]).toString('base64url') });
    assert.equal((await inspect(urlSafe.id as string)).Spec.Name, 'dode-urlsafe');
    await docker.getSecret(urlSafe.id as string).remove();
  });

  test('a dockerode client pinned to API v1.44 sees the same secrets', async () => {
    const pinned = new Docker({ socketPath: daemon.socket, version: 'v1.44' });
    const created = await pinned.createSecret({ Name: 'dode-pinned', Data: b64('p') });
    const info = (await pinned.getSecret('dode-pinned').inspect()) as unknown as SecretInfo;
    assertSecretShape(info);
    assert.equal(info.ID, created.id);
    assert.equal((await inspect(created.id as string)).Spec.Name, 'dode-pinned');
    await pinned.getSecret(created.id as string).remove();
    await rejectsWith(docker.getSecret(created.id as string).inspect(), 404, `secret ${created.id as string} not found`);
  });

  test('no raw response ever carries Spec.Data', async () => {
    const id = await create('dode-raw', 'top secret value', { x: 'y' });
    const responses = [
      await daemon.request({ path: `/v1.44/secrets/${id}` }),
      await daemon.request({ path: '/v1.44/secrets/dode-raw' }),
      await daemon.request({ path: '/v1.44/secrets' }),
      await daemon.request({ path: `/secrets?filters=${encodeURIComponent(JSON.stringify({ names: ['dode-raw'] }))}` }),
    ];
    for (const res of responses) {
      assert.equal(res.status, 200, res.text);
      assert.doesNotMatch(res.text, /"Data"/);
      assert.ok(!res.text.includes(b64('top secret value')));
      assert.ok(!res.text.includes('top secret value'));
    }
    assert.equal(responses[0]?.json?.ID, id);
    assert.equal(responses[3]?.json?.length, 1);
  });
});
