/**
 * The console's HTTP edge in-process: where it is served, its headers, and every way a POST is
 * refused as cross-site (403, nothing changed); rotation and rollback from a secret's page.
 * Requests look as if they came over loopback TCP.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
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
/** Every body the console sent in these tests, to look for values in. */
const pagesSeen: string[] = [];

async function send(
  method: string,
  path: string,
  opts: { headers?: Record<string, string>; form?: Record<string, string>; multipart?: FormData; tcp?: boolean; json?: unknown } = {},
): Promise<Page> {
  const headers = new Headers({ host: '127.0.0.1:8123', ...opts.headers });
  let body: BodyInit | undefined;
  if (opts.form) {
    const bytes = Buffer.from(new URLSearchParams(opts.form).toString());
    headers.set('content-type', 'application/x-www-form-urlencoded');
    headers.set('content-length', String(bytes.length));
    body = new Uint8Array(bytes);
  } else if (opts.json !== undefined) {
    const bytes = Buffer.from(JSON.stringify(opts.json));
    headers.set('content-type', 'application/json');
    headers.set('content-length', String(bytes.length));
    body = new Uint8Array(bytes);
  } else if (opts.multipart) {
    body = opts.multipart; // the Request sets the multipart Content-Type with its boundary
  }
  const req = new Request(`http://127.0.0.1:8123${path}`, { method, headers, ...(body ? { body } : {}) });
  // Accepted on a loopback TCP listener (or, with tcp: false, on a unix socket); the body is read from the Request.
  const res = await core.fetch(req, { listener: opts.tcp === false ? TEST_SOCKET : { transport: 'tcp', host: '127.0.0.1', port: 8123 } });
  const page = { status: res.status, headers: res.headers, text: await res.text() };
  pagesSeen.push(page.text);
  return page;
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
    const res = await send('POST', '/ui/new', {
      headers: { cookie, origin: ORIGIN, 'sec-fetch-site': 'same-origin' },
      form: { csrf: token, kind: 'text', name: 'accepted', value: 'v4lue-accepted' },
    });
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
    [
      'a forged token',
      (s) => ({ headers: { cookie: s.cookie, origin: ORIGIN }, csrf: s.token.replace(/^./, (ch) => (ch === 'A' ? 'B' : 'A')) }),
      /no valid CSRF token/,
    ],
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
    const res = await send('POST', '/ui/new', {
      headers: { cookie, origin: ORIGIN },
      form: { csrf: token, kind: 'text', name: 'big', value: 'x'.repeat(4 * 1024 * 1024 + 1) },
    });
    assert.equal(res.status, 413);
    assert.ok(!(await names()).includes('big'));
  });
});

describe("value versions on a secret's page", () => {
  let token: string;
  /** Every value sent in these tests: none may appear in any page. */
  const values: string[] = [];

  before(async () => {
    core = await openTestCore({ ui: true, delivery: true, driverSettings: { env: { allow: 'SECRETD_UIT_*' } } });
    const issued = await core.call('POST', '/_secretd/v1/tokens', { Allow: ['*'], Description: 'console versions' });
    assert.equal(issued.status, 201, issued.text);
    token = issued.json.Token;
  });
  after(() => core.dispose());

  const unique = (what: string) => `${what}-${randomBytes(4).toString('hex')}`;

  /** A new secret holding `value`, made over the unix socket; its ID. */
  async function secret(name: string, value: string, labels: Record<string, string> = {}): Promise<string> {
    values.push(value);
    const r = await core.call('POST', '/secrets/create', { Name: name, Labels: labels, Data: Buffer.from(value).toString('base64') });
    assert.equal(r.status, 201, r.text);
    return r.json.ID as string;
  }

  /** The bytes delivery serves now: the current version. */
  async function delivered(id: string): Promise<Buffer> {
    const r = await core.fetch(new Request(`http://secretd/_secretd/v1/secrets/${id}/value`, { headers: { authorization: `Bearer ${token}` } }), {
      listener: TEST_SOCKET,
    });
    assert.equal(r.status, 200);
    return Buffer.from(await r.arrayBuffer());
  }

  const versionsOf = async (id: string) => (await core.call('GET', `/_secretd/v1/secrets/${id}/versions`)).json as { Version: number; Current: boolean }[];
  const recordVersion = async (id: string) => String((await core.call('GET', `/secrets/${id}`)).json.Version.Index);
  const current = async (id: string) => (await versionsOf(id)).find((v) => v.Current)?.Version;

  /** The rows of the page's versions table: [version, current]. */
  const rows = (html: string) =>
    [...html.matchAll(/<tr(?: class="current")?><td>(\d+)<\/td><td><time[^>]*>[^<]*<\/time><\/td><td>(current)?<\/td>/g)].map((m) => [
      Number(m[1]),
      m[2] === 'current',
    ]);

  /** A rotate form as the page sends it, from the record version `version`. */
  async function rotate(id: string, version: string, fields: Record<string, string>, s?: { cookie: string; token: string }, file?: Blob): Promise<Page> {
    const { cookie, token: csrf } = s ?? (await session());
    const form = new FormData();
    for (const [k, v] of Object.entries({ csrf, version, ...fields })) form.set(k, v);
    if (file) form.set('file', file, 'new.bin');
    return send('POST', `/ui/secrets/${id}/rotate`, { headers: { cookie, origin: ORIGIN }, multipart: form });
  }

  async function rollback(id: string, to: number, version: string, s?: { cookie: string; token: string }): Promise<Page> {
    const { cookie, token: csrf } = s ?? (await session());
    return send('POST', `/ui/secrets/${id}/versions/${to}/rollback`, { headers: { cookie, origin: ORIGIN }, form: { csrf, version } });
  }

  test("a new secret's page lists version 1 as current, with no rollback, and the rotate form with its record version", async () => {
    const id = await secret(unique('vfresh'), 'fresh-v4lue-1');
    const page = await send('GET', `/ui/secrets/${id}`);
    assert.equal(page.status, 200);
    assert.deepEqual(rows(page.text), [[1, true]]);
    assert.doesNotMatch(page.text, /Roll back to version/);
    assert.match(page.text, new RegExp(`<form method="post" action="/ui/secrets/${id}/rotate" enctype="multipart/form-data"`));
    assert.match(page.text, new RegExp(`name="version" value="${await recordVersion(id)}"`));
    for (const tab of ['paste', 'file', 'generate']) assert.match(page.text, new RegExp(`href="/ui/secrets/${id}\\?rotate=${tab}#rotate"`));
  });

  test('rotate by paste stores version 2 and makes it current; the page then lists both and offers a rollback to 1', async () => {
    const id = await secret(unique('vpaste'), 'paste-v4lue-1');
    values.push('paste-v4lue-2');
    const res = await rotate(id, await recordVersion(id), { source: 'paste', value: 'paste-v4lue-2\r\nline' });
    assert.equal(res.status, 303, res.text);
    assert.equal(res.headers.get('location'), `/ui/secrets/${id}?rotated=2`);
    assert.equal((await delivered(id)).toString(), 'paste-v4lue-2\nline', 'CRLF from the textarea is stored as LF, as at create');
    const page = await send('GET', res.headers.get('location')!);
    assert.match(page.text, /Version 2 stored; it is the current value now\./);
    assert.deepEqual(rows(page.text), [
      [1, false],
      [2, true],
    ]);
    assert.match(page.text, new RegExp(`action="/ui/secrets/${id}/versions/1/rollback"`));
    assert.match(page.text, />Roll back to version 1</);
  });

  test('rotate by upload stores the file byte for byte', async () => {
    const id = await secret(unique('vfile'), 'file-v4lue-1');
    const bytes = Buffer.concat([Buffer.from([0, 0xff, 0x0d, 0x0a]), Buffer.from('file-v4lue-2'), randomBytes(64)]);
    values.push('file-v4lue-2');
    const res = await rotate(id, await recordVersion(id), { source: 'file' }, undefined, new Blob([new Uint8Array(bytes)]));
    assert.equal(res.status, 303, res.text);
    assert.deepEqual(await delivered(id), bytes);
    assert.equal(await current(id), 2);
  });

  test('rotate by generate stores a value of that length drawn from the chosen classes only', async () => {
    const id = await secret(unique('vgen'), 'gen-v4lue-1');
    const res = await rotate(id, await recordVersion(id), { source: 'generate', length: '40', class_upper: 'on', class_digits: 'on' });
    assert.equal(res.status, 303, res.text);
    const value = (await delivered(id)).toString();
    values.push(value);
    assert.match(value, /^[A-Z0-9]{40}$/);
    assert.match(value, /[A-Z]/);
    assert.match(value, /[0-9]/);
    assert.equal(await current(id), 2);
  });

  test('rollback makes version 1 current again, and delivery serves its bytes', async () => {
    const id = await secret(unique('vroll'), 'roll-v4lue-1');
    values.push('roll-v4lue-2');
    assert.equal((await rotate(id, await recordVersion(id), { source: 'paste', value: 'roll-v4lue-2' })).status, 303);
    const res = await rollback(id, 1, await recordVersion(id));
    assert.equal(res.status, 303, res.text);
    assert.equal(res.headers.get('location'), `/ui/secrets/${id}?rolledback=1`);
    assert.equal((await delivered(id)).toString(), 'roll-v4lue-1');
    const page = await send('GET', res.headers.get('location')!);
    assert.match(page.text, /Rolled back: version 1 is the current value again\./);
    assert.deepEqual(rows(page.text), [
      [1, true],
      [2, false],
    ]);
    assert.match(page.text, />Roll back to version 2</);
  });

  test('a stale page is refused: rotate and rollback from an older record version show "update out of sequence" and change nothing', async () => {
    const id = await secret(unique('vstale'), 'stale-v4lue-1');
    const seen = await recordVersion(id);
    values.push('stale-v4lue-2', 'stale-v4lue-3');
    assert.equal((await rotate(id, seen, { source: 'paste', value: 'stale-v4lue-2' })).status, 303);
    // The same page again (a second tab, or the form sent twice): its version has moved on.
    const again = await rotate(id, seen, { source: 'paste', value: 'stale-v4lue-3' });
    assert.equal(again.status, 500);
    assert.match(again.text, /Error 500<\/strong> <span class="message">rpc error: code = Unknown desc = update out of sequence</);
    assert.match(again.text, new RegExp(`name="version" value="${await recordVersion(id)}"`), 'the page is the secret as it is now');
    const back = await rollback(id, 1, seen);
    assert.equal(back.status, 500);
    assert.match(back.text, /update out of sequence/);
    assert.equal(await current(id), 2);
    assert.equal((await delivered(id)).toString(), 'stale-v4lue-2');
    assert.deepEqual(
      (await versionsOf(id)).map((v) => v.Version),
      [1, 2],
    );
  });

  test('rotate and rollback without a valid CSRF token, or from another origin, are 403 and change nothing', async () => {
    const id = await secret(unique('vcsrf'), 'csrf-v4lue-1');
    values.push('csrf-v4lue-2');
    assert.equal((await rotate(id, await recordVersion(id), { source: 'paste', value: 'csrf-v4lue-2' })).status, 303);
    const s = await session();
    const version = await recordVersion(id);
    const forged = { cookie: s.cookie, token: s.token.replace(/^./, (ch) => (ch === 'A' ? 'B' : 'A')) };
    const r1 = await rotate(id, version, { source: 'paste', value: 'csrf-v4lue-2' }, forged);
    assert.equal(r1.status, 403);
    assert.match(r1.text, /no valid CSRF token/);
    const r2 = await rollback(id, 1, version, forged);
    assert.equal(r2.status, 403);
    const r3 = await send('POST', `/ui/secrets/${id}/versions/1/rollback`, {
      headers: { cookie: s.cookie, 'sec-fetch-site': 'cross-site' },
      form: { csrf: s.token, version },
    });
    assert.equal(r3.status, 403);
    assert.equal(await current(id), 2);
    assert.equal(await recordVersion(id), version);
  });

  test('form errors show in the page as 400s and rotate nothing: a short length, no class, an empty value, no file', async () => {
    const id = await secret(unique('verr'), 'err-v4lue-1');
    const cases: [Record<string, string>, RegExp][] = [
      [{ source: 'generate', length: '4', class_lower: 'on' }, /the length of a generated value is a whole number from 8 to 4096/],
      [{ source: 'generate', length: '32' }, /choose at least one character class/],
      [{ source: 'paste', value: '' }, /type the new value/],
      [{ source: 'file' }, /choose a file to upload/],
    ];
    for (const [fields, message] of cases) {
      const res = await rotate(id, await recordVersion(id), fields);
      assert.equal(res.status, 400, JSON.stringify(fields));
      assert.match(res.text, message);
      assert.match(res.text, /<h1>v?err-/, "the secret's page, with the error");
    }
    assert.equal(await current(id), 1);
  });

  test('a typed secret rotates through its own fields, checked as at create; generate and upload are not offered', async () => {
    const id = await secret(unique('vkv'), '{"user":"app","password":"kv-v4lue-1"}', { 'com.secretd.type': 'kv' });
    const page = await send('GET', `/ui/secrets/${id}?rotate=generate`);
    assert.doesNotMatch(page.text, /rotate=generate/);
    assert.match(page.text, /name="pairs"/, 'the key/value fields, whatever the query asked');
    const refused = await rotate(id, await recordVersion(id), { source: 'generate', length: '32', class_lower: 'on' });
    assert.equal(refused.status, 400);
    assert.match(refused.text, /takes its new value in its own fields/);
    values.push('kv-v4lue-2');
    assert.equal((await rotate(id, await recordVersion(id), { source: 'paste', pairs: 'user=app\npassword=kv-v4lue-2' })).status, 303);
    assert.equal((await delivered(id)).toString(), '{"user":"app","password":"kv-v4lue-2"}');
  });

  test("a driver's secret has no versions table and no rotate form, and a rotate sent anyway is the daemon's refusal", async () => {
    const name = unique('vdriver');
    const r = await core.call('POST', '/secrets/create', { Name: name, Labels: {}, Driver: { Name: 'env', Options: { name: 'SECRETD_UIT_X' } } });
    assert.equal(r.status, 201, r.text);
    const id = r.json.ID as string;
    const page = await send('GET', `/ui/secrets/${id}`);
    assert.equal(page.status, 200);
    assert.doesNotMatch(page.text, /\/rotate"|class="secrets versions"/);
    assert.match(page.text, /The value comes from driver env each time it is delivered, so secretd keeps no versions of it: rotate it there\./);
    const res = await rotate(id, await recordVersion(id), { source: 'paste', value: 'driver-v4lue' });
    values.push('driver-v4lue');
    assert.equal(res.status, 400);
    assert.match(res.text, /takes its value from driver env: rotate it there/);
  });

  test('plain TCP to the versions routes is still refused (403) for list, rotate and rollback; the unix socket is not', async () => {
    const id = await secret(unique('vtcp'), 'tcp-v4lue-1');
    const refused = /secret versions are administered over the unix socket or TLS with a client certificate only/;
    const list = await send('GET', `/_secretd/v1/secrets/${id}/versions`);
    const post = await send('POST', `/_secretd/v1/secrets/${id}/versions`, { json: { Generate: { Length: 16 } } });
    const back = await send('POST', `/_secretd/v1/secrets/${id}/versions/1/rollback`);
    for (const r of [list, post, back]) {
      assert.equal(r.status, 403, r.text);
      assert.match(JSON.parse(r.text).message, refused);
    }
    assert.equal((await send('GET', `/_secretd/v1/secrets/${id}/versions`, { tcp: false })).status, 200);
    assert.equal(await current(id), 1);
  });

  test('the console is admitted to the versions routes only: tokens and removed secrets refuse its in-process calls', async () => {
    const id = await secret(unique('vadmin'), 'admin-v4lue-1');
    // Exactly how the console's engine client calls (src/http/app.ts): on behalf of the browser's TCP connection.
    const asConsole = (method: string, path: string) =>
      core.fetch(new Request(`http://secretd${path}`, { method }), { onBehalfOf: { transport: 'tcp', address: '127.0.0.1', via: 'console' } });
    assert.equal((await asConsole('GET', `/_secretd/v1/secrets/${id}/versions`)).status, 200);
    for (const [path, what] of [
      ['/_secretd/v1/tokens', 'consumer tokens'],
      ['/_secretd/v1/removed-secrets', 'removed secrets'],
    ]) {
      const r = await asConsole('GET', path!);
      assert.equal(r.status, 403, path);
      assert.match(((await r.json()) as { message: string }).message, new RegExp(`^${what} are administered over the unix socket`));
    }
  });

  test('no value sent or stored appears in any page the console answered', () => {
    assert.ok(pagesSeen.length > 40, `only ${pagesSeen.length} pages`);
    for (const v of values) assert.equal(pagesSeen.filter((p) => p.includes(v)).length, 0, `a page holds ${v}`);
  });
});

describe('--ui and the listeners', () => {
  const schemas = new SchemaRegistry();
  const config = (hosts: string[]) => buildConfig({ ui: true, host: hosts, 'data-root': '/tmp/secretd-ui-config' }, schemas);

  test('needs a TCP listener, and only loopback ones', () => {
    assert.throws(
      () => config(['unix:///tmp/s.sock']),
      (e: unknown) => e instanceof ConfigError && /--ui needs a TCP listener/.test(e.message),
    );
    assert.throws(
      () => config(['tcp://0.0.0.0:2375']),
      (e: unknown) => e instanceof ConfigError && /off loopback only with --tlsverify/.test(e.message),
    );
    assert.equal(config(['unix:///tmp/s.sock', 'tcp://127.0.0.1:0', 'tcp://[::1]:0']).ui, true);
  });
});
