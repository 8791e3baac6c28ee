/**
 * The console's HTTP edge in-process: where it is served, its headers, and every way a POST is
 * refused as cross-site (403, nothing changed). Requests look as if they came over loopback TCP.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SchemaRegistry } from '../../src/schemas.ts';
import { buildConfig, ConfigError } from '../../src/daemon/config.ts';
import { openTestCore, TEST_SOCKET, type CoreHandle } from '../helpers/core.ts';

const ORIGIN = 'http://127.0.0.1:8123';

interface Page {
  status: number;
  headers: Headers;
  text: string;
}

let core: CoreHandle;

/** One request as a browser on loopback TCP sends it (the Host is 127.0.0.1:8123 unless given). */
async function send(method: string, path: string, opts: { headers?: Record<string, string>; form?: Record<string, string>; tcp?: boolean } = {}): Promise<Page> {
  const headers = new Headers({ host: '127.0.0.1:8123', ...opts.headers });
  let body: Buffer | undefined;
  if (opts.form) {
    body = Buffer.from(new URLSearchParams(opts.form).toString());
    headers.set('content-type', 'application/x-www-form-urlencoded');
    headers.set('content-length', String(body.length));
  }
  const req = new Request(`http://127.0.0.1:8123${path}`, { method, headers, ...(body ? { body: new Uint8Array(body) } : {}) });
  // Accepted on a loopback TCP listener (or, with tcp: false, on a unix socket); the body is read from the Request.
  const res = await core.fetch(req, { listener: opts.tcp === false ? TEST_SOCKET : { transport: 'tcp', host: '127.0.0.1', port: 8123 } });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

/** A session: its cookie and the token its forms carry. */
async function session(): Promise<{ cookie: string; token: string }> {
  const page = await send('GET', '/ui/new');
  const cookie = /^(secretd_console=[^;]+)/.exec(page.headers.get('set-cookie') ?? '')![1]!;
  const token = /name="csrf" value="([^"]+)"/.exec(page.text)![1]!;
  return { cookie, token };
}

const names = async () => ((await core.call('GET', '/secrets')).json as { Spec: { Name: string } }[]).map((s) => s.Spec.Name);

describe('the console edge', () => {
  before(async () => {
    core = await openTestCore({ ui: true });
  });
  after(() => core.dispose());

  test('/ui is not served on a unix socket: the Engine bare 404', async () => {
    const res = await send('GET', '/ui', { tcp: false });
    assert.equal(res.status, 404);
    assert.equal(res.text, '{"message":"page not found"}\n');
  });

  test('every page carries the security headers and a session cookie locked to /ui', async () => {
    const res = await send('GET', '/ui');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-security-policy')!, /default-src 'none'/);
    assert.doesNotMatch(res.headers.get('content-security-policy')!, /script-src|unsafe-inline/);
    assert.equal(res.headers.get('x-frame-options'), 'DENY');
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.equal(res.headers.get('referrer-policy'), 'same-origin');
    assert.match(res.headers.get('set-cookie')!, /^secretd_console=[A-Za-z0-9_-]{43}; Path=\/ui; HttpOnly; SameSite=Strict$/);
    assert.doesNotMatch(res.text, /<script/i);
  });

  test('/ui/ redirects to /ui, keeping the query', async () => {
    const res = await send('GET', '/ui/?q=db');
    assert.equal(res.status, 308);
    assert.equal(res.headers.get('location'), '/ui?q=db');
    assert.equal((await send('GET', '/ui/', { tcp: false })).status, 404);
  });

  test('a Host that is not loopback is refused (DNS rebinding)', async () => {
    const res = await send('GET', '/ui', { headers: { host: 'evil.example:8123' } });
    assert.equal(res.status, 403);
    assert.match(JSON.parse(res.text).message, /Host header names neither/);
  });

  test('a valid POST creates the secret and redirects (303) to its page, which never shows the value', async () => {
    const { cookie, token } = await session();
    const res = await send('POST', '/ui/new', { headers: { cookie, origin: ORIGIN, 'sec-fetch-site': 'same-origin' }, form: { csrf: token, kind: 'text', name: 'accepted', value: 'v4lue-accepted' } });
    assert.equal(res.status, 303);
    const location = res.headers.get('location')!;
    assert.match(location, /^\/ui\/secrets\/[a-z0-9]{25}\?created=1$/);
    const detail = await send('GET', location, { headers: { cookie } });
    assert.match(detail.text, /Secret created\./);
    assert.ok(!detail.text.includes('v4lue-accepted'));
    assert.ok((await names()).includes('accepted'));
  });

  const refusals: [string, (s: { cookie: string; token: string }) => { headers: Record<string, string>; csrf?: string }, RegExp][] = [
    ['no token', (s) => ({ headers: { cookie: s.cookie, origin: ORIGIN } }), /no valid CSRF token/],
    ['a forged token', (s) => ({ headers: { cookie: s.cookie, origin: ORIGIN }, csrf: s.token.replace(/^./, (ch) => (ch === 'A' ? 'B' : 'A')) }), /no valid CSRF token/],
    ['a token of another session', (s) => ({ headers: { cookie: 'secretd_console=' + 'x'.repeat(43), origin: ORIGIN }, csrf: s.token }), /no valid CSRF token/],
    ['no session cookie', (s) => ({ headers: { origin: ORIGIN }, csrf: s.token }), /no valid CSRF token/],
    ['another origin', (s) => ({ headers: { cookie: s.cookie, origin: 'http://127.0.0.1:9999' }, csrf: s.token }), /another origin \(Origin\)/],
    ['a cross-site fetch', (s) => ({ headers: { cookie: s.cookie, 'sec-fetch-site': 'cross-site' }, csrf: s.token }), /another origin \(Sec-Fetch-Site\)/],
    ['neither Origin nor Sec-Fetch-Site', (s) => ({ headers: { cookie: s.cookie }, csrf: s.token }), /does not say where it comes from/],
  ];
  for (const [what, make, message] of refusals) {
    test(`a POST with ${what} is a 403 page and changes nothing`, async () => {
      const s = await session();
      const { headers, csrf } = make(s);
      const name = `refused-${what.replace(/\W+/g, '-')}`;
      const res = await send('POST', '/ui/new', { headers, form: { ...(csrf ? { csrf } : {}), kind: 'text', name, value: 'x' } });
      assert.equal(res.status, 403);
      assert.match(res.text, message);
      assert.match(res.text, /nothing was changed/);
      assert.ok(!(await names()).includes(name));
    });
  }

  test('label edits and deletes are refused the same way without a token', async () => {
    const id = (await core.call('POST', '/secrets/create', { Name: 'kept', Data: 'eA==' })).json.ID as string;
    const { cookie } = await session();
    assert.equal((await send('POST', `/ui/secrets/${id}/labels`, { headers: { cookie, origin: ORIGIN }, form: { version: '1', labels: 'a=b' } })).status, 403);
    assert.equal((await send('POST', `/ui/secrets/${id}/delete`, { headers: { cookie, origin: ORIGIN }, form: {} })).status, 403);
    const after = (await core.call('GET', `/secrets/${id}`)).json;
    assert.deepEqual(after.Spec.Labels, {});
  });

  test('a form over 4 MiB is refused before it is read', async () => {
    const { cookie, token } = await session();
    const res = await send('POST', '/ui/new', { headers: { cookie, origin: ORIGIN }, form: { csrf: token, kind: 'text', name: 'big', value: 'x'.repeat(4 * 1024 * 1024 + 1) } });
    assert.equal(res.status, 413);
    assert.ok(!(await names()).includes('big'));
  });
});

describe('--ui and the listeners', () => {
  const schemas = new SchemaRegistry();
  const config = (hosts: string[]) => buildConfig({ ui: true, host: hosts, 'data-root': '/tmp/secretd-ui-config' }, schemas);

  test('needs a TCP listener, and only loopback ones', () => {
    assert.throws(() => config(['unix:///tmp/s.sock']), (e: unknown) => e instanceof ConfigError && /--ui needs a TCP listener/.test(e.message));
    assert.throws(() => config(['tcp://0.0.0.0:2375']), (e: unknown) => e instanceof ConfigError && /off loopback only with --tlsverify/.test(e.message));
    assert.equal(config(['unix:///tmp/s.sock', 'tcp://127.0.0.1:0', 'tcp://[::1]:0']).ui, true);
  });
});
