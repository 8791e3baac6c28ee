/**
 * The /_secretd/v1 edge in-process: off unless enabled, bodies checked against spec/ with a 400
 * that says what is wrong, every kind of bad credential the same 401, and nothing changed by a
 * refused request.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openTestCore, type CoreHandle } from '../helpers/core.ts';
import { tokenParts } from '../helpers/tokens.ts';

describe('without --delivery', () => {
  test("the extension paths do not exist: dockerd's plain 404", async () => {
    const core = await openTestCore();
    try {
      for (const [method, path] of [
        ['POST', '/_secretd/v1/tokens'],
        ['GET', '/_secretd/v1/tokens'],
        ['GET', '/_secretd/v1/secrets/x/value'],
      ] as const) {
        const r = await core.call(method, path, method === 'POST' ? { Allow: ['*'] } : undefined);
        assert.equal(r.status, 404, `${method} ${path}`);
        assert.deepEqual(r.json, { message: 'page not found' });
      }
    } finally {
      await core.dispose();
    }
  });
});

describe('with --delivery', () => {
  let core: CoreHandle;
  let token: string;
  before(async () => {
    core = await openTestCore({ delivery: true });
    const created = await core.call('POST', '/_secretd/v1/tokens', { Allow: ['app.*'], Description: 'tests' });
    assert.equal(created.status, 201, created.text);
    token = created.json.Token;
    const secret = await core.call('POST', '/secrets/create', { Name: 'app.one', Data: Buffer.from('v1').toString('base64') });
    assert.equal(secret.status, 201);
  });
  after(() => core.dispose());

  const tokenCount = async () => (await core.call('GET', '/_secretd/v1/tokens')).json.length as number;

  test('a created token is shown once with its scope; the list never holds the token or a hash', async () => {
    assert.match(token, /^sdt_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    const list = await core.call('GET', '/_secretd/v1/tokens');
    assert.equal(list.status, 200);
    assert.deepEqual(Object.keys(list.json[0]).sort(), ['Allow', 'CreatedAt', 'Description', 'ID']);
    assert.ok(!list.text.includes(tokenParts(token).secret));
  });

  const badBodies: [string, unknown, RegExp][] = [
    ['no Allow', { Description: 'x' }, /^invalid request body: \/ must have required property 'Allow'$/],
    ['an empty Allow', { Allow: [] }, /^invalid request body: \/Allow must NOT have fewer than 1 items$/],
    ['a pattern with a slash', { Allow: ['a/b'] }, /^invalid request body: \/Allow\/0 must match pattern/],
    ['an unknown key', { Allow: ['a'], Admin: true }, /^invalid request body: \/ must NOT have additional properties$/],
    ['Allow as a string', { Allow: 'a*' }, /^invalid request body: \/Allow must be array$/],
    ['a JSON array', ['a'], /^invalid request body: \/ must be object$/],
    ['malformed JSON', '{"Allow": [', /^invalid JSON: unexpected EOF$/],
  ];
  for (const [what, body, message] of badBodies) {
    test(`token create with ${what} is a 400 and creates nothing`, async () => {
      const before = await tokenCount();
      const r = await core.call('POST', '/_secretd/v1/tokens', body);
      assert.equal(r.status, 400, r.text);
      assert.match(r.json.message, message);
      assert.equal(await tokenCount(), before);
    });
  }

  test('token create with a non-JSON Content-Type is refused as the Engine API refuses it', async () => {
    const r = await core.call('POST', '/_secretd/v1/tokens', '{"Allow":["a"]}', { 'content-type': 'text/plain' });
    assert.equal(r.status, 400);
    assert.match(r.json.message, /Content-Type/i);
  });

  const badCredentials: [string, Record<string, string>][] = [
    ['no header', {}],
    ['an empty bearer', { authorization: 'Bearer ' }],
    ['Basic auth', { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` }],
    ['a token of another shape', { authorization: 'Bearer abc.def' }],
    ['a well-formed token never issued', { authorization: `Bearer sdt_0000000000000000_${'A'.repeat(43)}` }],
    ['a 64 KiB header', { authorization: `Bearer ${'x'.repeat(65536)}` }],
  ];
  for (const [what, headers] of badCredentials) {
    test(`delivery with ${what} is a 401 that says how to authenticate`, async () => {
      const r = await core.call('GET', '/_secretd/v1/secrets/app.one/value', undefined, headers);
      assert.equal(r.status, 401);
      assert.match(r.json.message, /^(a consumer token is required|the consumer token is not valid)/);
      assert.ok(!r.text.includes('v1'));
    });
  }

  test('GET needs no body; POST takes the task context; both answer the bytes with no-store', async () => {
    const auth = { authorization: `Bearer ${token}` };
    const get = await core.call('GET', '/_secretd/v1/secrets/app.one/value', undefined, auth);
    assert.equal(get.status, 200);
    assert.equal(get.text, 'v1');
    assert.equal(get.headers.get('cache-control'), 'no-store');
    const post = await core.call('POST', '/_secretd/v1/secrets/app.one/value', { Task: { ID: 't' }, Env: ['A=1'] }, auth);
    assert.equal(post.status, 200);
    assert.equal(post.text, 'v1');
  });

  const badContexts: [string, unknown, RegExp][] = [
    ['an unknown top-level key', { Tasks: {} }, /^invalid request body: \/ must NOT have additional properties$/],
    ['Env as a string', { Env: 'A=1' }, /^invalid request body: \/Env must be array$/],
    ['a label that is not a string', { Service: { Labels: { a: 1 } } }, /^invalid request body: \/Service\/Labels\/a must be string$/],
    ['a secret reference without a target', { Secrets: [{ Secret: 'app.one' }] }, /^invalid request body: \/Secrets\/0 must have required property 'Target'$/],
  ];
  for (const [what, body, message] of badContexts) {
    test(`a delivery context with ${what} is a 400`, async () => {
      const r = await core.call('POST', '/_secretd/v1/secrets/app.one/value', body, { authorization: `Bearer ${token}` });
      assert.equal(r.status, 400, r.text);
      assert.match(r.json.message, message);
    });
  }

  test('revoking an unknown token is a 404; revoking a real one makes it a 401 at once', async () => {
    const missing = await core.call('DELETE', '/_secretd/v1/tokens/0000000000000000');
    assert.equal(missing.status, 404);
    assert.deepEqual(missing.json, { message: 'token 0000000000000000 not found' });
    const t = (await core.call('POST', '/_secretd/v1/tokens', { Allow: ['*'] })).json;
    assert.equal((await core.call('DELETE', `/_secretd/v1/tokens/${t.ID}`)).status, 204);
    assert.equal((await core.call('GET', '/_secretd/v1/secrets/app.one/value', undefined, { authorization: `Bearer ${t.Token}` })).status, 401);
  });

  test('delivery answers 503 like every secret endpoint once the node has left the swarm', async () => {
    const other = await openTestCore({ delivery: true });
    try {
      const t = (await other.call('POST', '/_secretd/v1/tokens', { Allow: ['*'] })).json.Token;
      assert.equal((await other.call('POST', '/swarm/leave?force=1')).status, 200);
      const r = await other.call('GET', '/_secretd/v1/secrets/x/value', undefined, { authorization: `Bearer ${t}` });
      assert.equal(r.status, 503);
      assert.match(r.json.message, /^This node is not a swarm manager/);
      assert.equal((await other.call('GET', '/_secretd/v1/tokens')).json.length, 1, 'tokens outlive swarm leave');
    } finally {
      await other.dispose();
    }
  });
});
