/**
 * The web console in a real browser: Debian's Chromium driven by playwright-core against a
 * daemon started as a user starts it (`npm start -- --ui -H tcp://127.0.0.1:0 --delivery …`).
 * Every kind of secret is created through the pages, then checked through the Engine API (labels)
 * and through delivery (the exact stored bytes); labels are edited (and a stale version shows
 * dockerd's error), a value is rotated (pasted, uploaded, generated) and rolled back from the
 * secret's page, a secret is deleted after confirmation, errors show dockerd's messages, a
 * cross-site form is refused, and no value ever appears in any HTML the daemon sent.
 *
 * Screenshots go to a temporary folder each run (printed as a diagnostic); with
 * SECRETD_UPDATE_SCREENSHOTS=1 they also replace docs/console.md's ones in docs/screenshots/.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { randomBytes } from 'node:crypto';
import { PROJECT_ROOT, startDaemon, type Daemon } from '../helpers/daemon.ts';
import { fileMissing } from '../helpers/tools.ts';

const CHROMIUM = '/usr/bin/chromium';
const skip = fileMissing(CHROMIUM, 'apt-get install chromium');

const scratch = mkdtempSync(join(tmpdir(), 'secretd-console-'));
/** Kept after the run, unlike scratch, so the screenshots can be looked at. */
const shots = mkdtempSync(join(tmpdir(), 'secretd-console-screenshots-'));
const DOCS_SHOTS = join(PROJECT_ROOT, 'docs', 'screenshots');
const ENV_VALUE = 'env-value-7d1e';

let daemon: Daemon;
let browser: Browser;
let page: Page;
let base: string;
let token: string;
/** Every HTML document the daemon sent to the browser. */
const htmlSeen: string[] = [];
/** Every value typed or uploaded, to look for in that HTML at the end. */
const values: string[] = [];

async function shot(name: string): Promise<void> {
  const file = join(shots, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  if (process.env.SECRETD_UPDATE_SCREENSHOTS === '1') {
    mkdirSync(DOCS_SHOTS, { recursive: true });
    await page.screenshot({ path: join(DOCS_SHOTS, `${name}.png`), fullPage: true });
  }
}

/** The value delivery serves for `name`: the stored bytes, or the rendered template for `context`. */
function delivered(name: string, context?: unknown): Promise<Buffer> {
  const body = context === undefined ? undefined : Buffer.from(JSON.stringify(context));
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        socketPath: daemon.socket,
        agent: false,
        method: body ? 'POST' : 'GET',
        path: `/_secretd/v1/secrets/${encodeURIComponent(name)}/value`,
        headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/json', 'Content-Length': String(body.length) } : {}) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => (res.statusCode === 200 ? resolve(Buffer.concat(chunks)) : reject(new Error(`${res.statusCode}: ${Buffer.concat(chunks)}`))));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function inspect(name: string): Promise<any> {
  const res = await daemon.request({ path: `/v1.44/secrets/${encodeURIComponent(name)}` });
  assert.equal(res.status, 200, `inspect ${name}: ${res.text}`);
  return res.json;
}

/** Opens the create form of `kind`, fills it, submits it. */
async function create(kind: string, fields: Record<string, string>, extra?: (p: Page) => Promise<void>): Promise<void> {
  await page.goto(`${base}/new?kind=${kind}`);
  for (const [name, value] of Object.entries(fields)) {
    const el = page.locator(`[name="${name}"]`);
    if ((await el.evaluate((e) => e.tagName)) === 'SELECT') await el.selectOption(value);
    else await el.fill(value);
  }
  await extra?.(page);
  await page.getByRole('button', { name: 'Create secret' }).click();
  await page.waitForLoadState();
}

/** After a create: the detail page of the new secret, with its notice. */
async function expectCreated(name: string): Promise<void> {
  assert.match(page.url(), /\/ui\/secrets\/[a-z0-9]{25}\?created=1$/, await page.content());
  assert.equal(await page.locator('h1').textContent(), name);
  assert.equal(await page.locator('.notice').textContent(), 'Secret created.');
}

const errorText = async () => (await page.locator('.error').textContent()) ?? '';

describe('the web console in Chromium', { skip }, () => {
  before(async () => {
    daemon = await startDaemon({
      args: ['--ui', '-H', 'tcp://127.0.0.1:0', '--delivery', '--driver-opt', 'env.allow=SECRETD_UI_*'],
      env: { SECRETD_UI_VALUE: ENV_VALUE },
    });
    for (let i = 0; i < 50 && !/Web console: /.test(daemon.logs); i++) await new Promise((r) => setTimeout(r, 100));
    base = /Web console: (http:\/\/127\.0\.0\.1:\d+\/ui)/.exec(daemon.logs)![1]!;
    const issued = await daemon.request({ method: 'POST', path: '/_secretd/v1/tokens', body: { Allow: ['ui-*'], Description: 'console e2e' } });
    assert.equal(issued.status, 201, issued.text);
    token = issued.json.Token;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    page = await (await browser.newContext({ viewport: { width: 1100, height: 760 } })).newPage();
    page.on('response', async (res) => {
      if (!(res.headers()['content-type'] ?? '').startsWith('text/html')) return;
      try {
        htmlSeen.push(await res.text());
      } catch {
        // a redirect has no body
      }
    });
  });

  after(async () => {
    await browser?.close();
    await daemon?.dispose();
    rmSync(scratch, { recursive: true, force: true });
  });

  test('creates a plaintext secret with labels; the stored bytes are the text with LF line breaks', async (t) => {
    t.diagnostic(`screenshots of this run: ${shots}`);
    values.push('pl@in-v4lue');
    await create('text', { name: 'ui-plain', value: 'pl@in-v4lue\nsecond line', labels: 'env=prod\nteam=core' });
    await expectCreated('ui-plain');
    assert.deepEqual((await inspect('ui-plain')).Spec.Labels, { env: 'prod', team: 'core' });
    assert.equal((await delivered('ui-plain')).toString(), 'pl@in-v4lue\nsecond line');
  });

  test('creates a key/value secret stored as a JSON object, labelled com.secretd.type=kv', async () => {
    values.push('kv-s3cr=t');
    await create('kv', { name: 'ui-kv', pairs: 'user=app\npassword=kv-s3cr=t', labels: 'env=prod' });
    await expectCreated('ui-kv');
    assert.deepEqual((await inspect('ui-kv')).Spec.Labels, { env: 'prod', 'com.secretd.type': 'kv' });
    assert.equal((await delivered('ui-kv')).toString(), '{"user":"app","password":"kv-s3cr=t"}');
  });

  test('creates a secret from an uploaded file, byte for byte', async () => {
    const bytes = Buffer.from([0, 1, 2, 0x0d, 0x0a, 0xff, 0xfe, ...Buffer.from('file-v4lue')]);
    values.push('file-v4lue');
    await create('file', { name: 'ui-file' }, (p) =>
      p.locator('[name="file"]').setInputFiles({ name: 'blob.bin', mimeType: 'application/octet-stream', buffer: bytes }),
    );
    await expectCreated('ui-file');
    assert.deepEqual(await delivered('ui-file'), bytes);
  });

  test('creates a TLS secret from an openssl-made pair; a mismatched key is refused in the page', async () => {
    const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: scratch, stdio: ['ignore', 'pipe', 'pipe'] });
    openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'tls.key');
    openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'other.key');
    openssl('req', '-new', '-x509', '-key', 'tls.key', '-out', 'tls.crt', '-days', '2', '-subj', '/CN=app.example');
    const cert = readFileSync(join(scratch, 'tls.crt'), 'utf8');
    const key = readFileSync(join(scratch, 'tls.key'), 'utf8');
    values.push(key.split('\n')[1]!);

    await create('tls', { name: 'ui-tls-bad', cert, key: readFileSync(join(scratch, 'other.key'), 'utf8') });
    assert.match(await errorText(), /^Error 400 the private key does not match the certificate$/);
    assert.equal(await page.locator('[name="name"]').inputValue(), 'ui-tls-bad', 'the name is kept');
    assert.equal(await page.locator('[name="key"]').inputValue(), '', 'the key is not sent back');
    await shot('create-tls-mismatch');
    assert.equal((await daemon.request({ path: '/secrets/ui-tls-bad' })).status, 404);

    await create('tls', { name: 'ui-tls', cert, key, labels: 'app=web' });
    await expectCreated('ui-tls');
    assert.deepEqual((await inspect('ui-tls')).Spec.Labels, { app: 'web', 'com.secretd.type': 'tls' });
    assert.equal((await delivered('ui-tls')).toString(), `${cert.trim()}\n${key.trim()}\n`);
  });

  test('creates registry credentials stored as a .dockerconfigjson document', async () => {
    values.push('r3gistry-pass');
    await page.goto(`${base}/new?kind=registry`);
    await shot('create-registry');
    await create('registry', { name: 'ui-registry', registry: 'registry.example.com', username: 'ci-bot', password: 'r3gistry-pass' });
    await expectCreated('ui-registry');
    assert.equal((await inspect('ui-registry')).Spec.Labels['com.secretd.type'], 'dockerconfigjson');
    const doc = JSON.parse((await delivered('ui-registry')).toString());
    assert.deepEqual(doc, {
      auths: { 'registry.example.com': { username: 'ci-bot', password: 'r3gistry-pass', auth: Buffer.from('ci-bot:r3gistry-pass').toString('base64') } },
    });
  });

  test('creates basic-auth credentials stored as {"username","password"}', async () => {
    values.push('b4sic-pass');
    await create('basic-auth', { name: 'ui-basic', username: 'admin', password: 'b4sic-pass' });
    await expectCreated('ui-basic');
    assert.equal((await inspect('ui-basic')).Spec.Labels['com.secretd.type'], 'basic-auth');
    assert.equal((await delivered('ui-basic')).toString(), '{"username":"admin","password":"b4sic-pass"}');
  });

  test('creates a secret whose value comes from the env driver, with its options', async () => {
    await create('text', { name: 'ui-env', driver: 'env', driver_options: 'name=SECRETD_UI_VALUE' });
    await expectCreated('ui-env');
    assert.deepEqual((await inspect('ui-env')).Spec.Driver, { Name: 'env', Options: { name: 'SECRETD_UI_VALUE' } });
    assert.equal((await delivered('ui-env')).toString(), ENV_VALUE);
    assert.match((await page.locator('dl.meta').textContent()) ?? '', /Driverenv \(name=SECRETD_UI_VALUE\)/);
  });

  test('creates a templated secret (golang) that renders for the task at delivery', async () => {
    await create('text', { name: 'ui-template', value: 'service={{ .Service.Name }}', templating: 'golang' });
    await expectCreated('ui-template');
    assert.deepEqual((await inspect('ui-template')).Spec.Templating, { Name: 'golang' });
    assert.equal((await delivered('ui-template', { Service: { Name: 'web' } })).toString(), 'service=web');
    await shot('detail');
  });

  test("shows dockerd's errors: a bad name (400) and a duplicate name (409)", async () => {
    await create('text', { name: 'bad name!', value: 'x' });
    assert.equal(
      await errorText(),
      'Error 400 rpc error: code = InvalidArgument desc = invalid name, only 64 [a-zA-Z0-9-_.] characters allowed, ' +
        'and the start and end character must be [a-zA-Z0-9]',
    );
    await create('text', { name: 'ui-plain', value: 'again', labels: 'env=dup' });
    assert.equal(await errorText(), 'Error 409 rpc error: code = AlreadyExists desc = secret ui-plain already exists');
    assert.equal(await page.locator('[name="labels"]').inputValue(), 'env=dup');
    await shot('create-duplicate');
  });

  test('the list searches names and filters by label chips', async () => {
    await page.goto(base);
    const names = async () => page.locator('table.secrets tbody tr td:first-child').allTextContents();
    assert.deepEqual(await names(), ['ui-basic', 'ui-env', 'ui-file', 'ui-kv', 'ui-plain', 'ui-registry', 'ui-template', 'ui-tls'], await page.content());
    await shot('list');
    await page.locator('[name="q"]').fill('PL');
    await page.getByRole('button', { name: 'Filter' }).click();
    assert.deepEqual(await names(), ['ui-plain', 'ui-template'], 'a case-insensitive part of the name');
    await page.goto(base);
    await page.locator('tr', { hasText: 'ui-kv' }).getByRole('link', { name: 'env=prod' }).click();
    assert.deepEqual(await names(), ['ui-kv', 'ui-plain']);
    assert.equal(await page.locator('[name="label"]').inputValue(), 'env=prod');
  });

  test('edits labels from the version seen; a version that moved on shows "update out of sequence"', async () => {
    await page.goto(base);
    await page.getByRole('link', { name: 'ui-kv', exact: true }).click();
    const labels = page.locator('textarea[name="labels"]');
    assert.equal(await labels.inputValue(), 'env=prod\ncom.secretd.type=kv');
    await labels.fill('env=staging\ncom.secretd.type=kv\nowner=ops');
    await page.getByRole('button', { name: 'Save labels' }).click();
    assert.match(page.url(), /\?updated=1$/);
    assert.equal(await page.locator('.notice').textContent(), 'Labels saved.');
    assert.deepEqual((await inspect('ui-kv')).Spec.Labels, { env: 'staging', 'com.secretd.type': 'kv', owner: 'ops' });

    // Someone else changes the secret while the page is open.
    const seen = (await inspect('ui-kv')).Version.Index;
    const other = await daemon.request({
      method: 'POST',
      path: `/v1.44/secrets/ui-kv/update?version=${seen}`,
      body: { Name: 'ui-kv', Labels: { env: 'staging', 'com.secretd.type': 'kv', owner: 'dev' } },
    });
    assert.equal(other.status, 200, other.text);
    await labels.fill('env=prod\ncom.secretd.type=kv\nowner=ops');
    await page.getByRole('button', { name: 'Save labels' }).click();
    assert.equal(await errorText(), 'Error 500 rpc error: code = Unknown desc = update out of sequence');
    assert.equal((await inspect('ui-kv')).Spec.Labels.owner, 'dev', 'the stale edit changed nothing');
    assert.match(await labels.inputValue(), /owner=dev/, 'the page shows the secret as it is now');
    await shot('labels-out-of-sequence');
  });

  /** The versions table of the page shown: [version, current] per row. */
  const versionRows = async () =>
    (await page.locator('table.versions tbody tr').evaluateAll((trs) => trs.map((tr) => [tr.children[0]!.textContent, tr.children[2]!.textContent]))).map(
      ([v, c]) => [Number(v), c === 'current'],
    );
  const rotateForm = () => page.locator('form[action$="/rotate"]');

  async function openSecret(name: string): Promise<void> {
    await page.goto(base);
    await page.getByRole('link', { name, exact: true }).click();
  }

  test('rotates a value by pasting it: version 2 is current, delivery serves it, the page lists both', async () => {
    await openSecret('ui-plain');
    assert.deepEqual(await versionRows(), [[1, true]]);
    values.push('r0tated-paste');
    await rotateForm().locator('[name="value"]').fill('r0tated-paste\nline two');
    await rotateForm().getByRole('button', { name: 'Rotate', exact: true }).click();
    assert.match(page.url(), /\?rotated=2$/);
    assert.equal(await page.locator('.notice').textContent(), 'Version 2 stored; it is the current value now.');
    assert.deepEqual(await versionRows(), [
      [1, false],
      [2, true],
    ]);
    assert.equal((await delivered('ui-plain')).toString(), 'r0tated-paste\nline two');
    assert.equal(await rotateForm().locator('[name="value"]').inputValue(), '', 'the value is not sent back');
  });

  test('rotates a value by uploading a file, byte for byte', async () => {
    await openSecret('ui-plain');
    await page.getByRole('link', { name: 'Upload a file' }).click();
    assert.match(page.url(), /\?rotate=file#rotate$/);
    const bytes = Buffer.concat([Buffer.from([0xff, 0, 0x0d, 0x0a]), Buffer.from('r0tated-upload'), randomBytes(32)]);
    values.push('r0tated-upload');
    await rotateForm().locator('[name="file"]').setInputFiles({ name: 'new.bin', mimeType: 'application/octet-stream', buffer: bytes });
    await shot('rotate-upload');
    await rotateForm().getByRole('button', { name: 'Rotate', exact: true }).click();
    assert.match(page.url(), /\?rotated=3$/);
    assert.deepEqual(await delivered('ui-plain'), bytes);
  });

  test('rotates to a generated value of the chosen length and classes, never shown', async () => {
    await openSecret('ui-plain');
    await page.getByRole('link', { name: 'Generate' }).click();
    await rotateForm().locator('[name="length"]').fill('24');
    await rotateForm().locator('[name="class_symbols"]').uncheck();
    await rotateForm().locator('[name="class_upper"]').uncheck();
    await shot('rotate-generate');
    await rotateForm().getByRole('button', { name: 'Rotate', exact: true }).click();
    assert.match(page.url(), /\?rotated=4$/);
    const value = (await delivered('ui-plain')).toString();
    values.push(value);
    assert.match(value, /^[a-z0-9]{24}$/);
    assert.deepEqual(await versionRows(), [
      [1, false],
      [2, false],
      [3, false],
      [4, true],
    ]);
  });

  test('rolls back to a listed version; delivery serves its bytes again', async () => {
    await openSecret('ui-plain');
    await page.getByRole('button', { name: 'Roll back to version 2' }).click();
    assert.match(page.url(), /\?rolledback=2$/);
    assert.equal(await page.locator('.notice').textContent(), 'Rolled back: version 2 is the current value again.');
    assert.deepEqual(await versionRows(), [
      [1, false],
      [2, true],
      [3, false],
      [4, false],
    ]);
    assert.equal((await delivered('ui-plain')).toString(), 'r0tated-paste\nline two');
    await shot('versions');
  });

  test('a stale page rotates nothing: it shows "update out of sequence" and the secret as it is now', async () => {
    await openSecret('ui-plain');
    const seen = (await inspect('ui-plain')).Version.Index;
    // Someone else changes the secret while the page is open.
    const other = await daemon.request({ method: 'POST', path: '/_secretd/v1/secrets/ui-plain/versions/1/rollback' });
    assert.equal(other.status, 200, other.text);
    values.push('st4le-rotate');
    await rotateForm().locator('[name="value"]').fill('st4le-rotate');
    await rotateForm().getByRole('button', { name: 'Rotate', exact: true }).click();
    assert.equal(await errorText(), 'Error 500 rpc error: code = Unknown desc = update out of sequence');
    assert.equal((await delivered('ui-plain')).toString(), 'pl@in-v4lue\nsecond line', 'version 1, as the other client left it');
    assert.deepEqual(
      await versionRows(),
      [
        [1, true],
        [2, false],
        [3, false],
        [4, false],
      ],
      'the page is the secret as it is now',
    );
    assert.notEqual(await rotateForm().locator('[name="version"]').inputValue(), String(seen));
    await shot('rotate-out-of-sequence');
  });

  test("a typed secret rotates in its own fields; a driver's secret has no rotate form", async () => {
    await openSecret('ui-basic');
    assert.equal(await page.getByRole('link', { name: 'Generate' }).count(), 0);
    values.push('b4sic-rotated');
    await rotateForm().locator('[name="username"]').fill('admin');
    await rotateForm().locator('[name="password"]').fill('b4sic-rotated');
    await rotateForm().getByRole('button', { name: 'Rotate', exact: true }).click();
    assert.match(page.url(), /\?rotated=2$/);
    assert.equal((await delivered('ui-basic')).toString(), '{"username":"admin","password":"b4sic-rotated"}');

    await openSecret('ui-env');
    assert.equal(await rotateForm().count(), 0);
    assert.match(
      (await page.locator('main').textContent()) ?? '',
      /The value comes from driver env each time it is delivered, so secretd keeps no versions of it: rotate it there\./,
    );
    assert.equal(await page.locator('table.versions').count(), 0);
  });

  test('plain TCP to the versions endpoint is refused outside the console (curl), and changes nothing', async () => {
    const api = new URL(base).origin;
    const before = await daemon.request({ path: '/_secretd/v1/secrets/ui-plain/versions' });
    assert.equal(before.status, 200, 'the unix socket is admitted');
    const curl = (...args: string[]) => {
      const out = execFileSync('curl', ['-s', '-w', '\n%{http_code}', ...args], { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
      const [body, code] = [out.slice(0, out.lastIndexOf('\n')), out.slice(out.lastIndexOf('\n') + 1)];
      return { code, message: (JSON.parse(body) as { message: string }).message };
    };
    for (const args of [
      [`${api}/_secretd/v1/secrets/ui-plain/versions`],
      ['-X', 'POST', '-H', 'Content-Type: application/json', '-d', '{"Generate":{"Length":16}}', `${api}/_secretd/v1/secrets/ui-plain/versions`],
      ['-X', 'POST', `${api}/_secretd/v1/secrets/ui-plain/versions/2/rollback`],
    ]) {
      const r = curl(...args);
      assert.equal(r.code, '403', args.join(' '));
      assert.equal(r.message, 'secret versions are administered over the unix socket or TLS with a client certificate only');
    }
    assert.deepEqual((await daemon.request({ path: '/_secretd/v1/secrets/ui-plain/versions' })).json, before.json);
  });

  test('deletes after a confirmation page', async () => {
    await page.goto(base);
    await page.getByRole('link', { name: 'ui-file', exact: true }).click();
    await page.getByRole('link', { name: 'Delete this secret…' }).click();
    assert.match(page.url(), /\/delete$/);
    assert.equal(await page.locator('h1').textContent(), 'Delete ui-file?');
    await shot('delete-confirm');
    assert.equal((await daemon.request({ path: '/secrets/ui-file' })).status, 200, 'nothing is deleted before the confirmation');
    await page.getByRole('button', { name: 'Delete for good' }).click();
    assert.match(page.url(), /\/ui\?deleted=ui-file$/);
    assert.equal(await page.locator('.notice').textContent(), 'Secret ui-file deleted.');
    assert.equal((await daemon.request({ path: '/secrets/ui-file' })).status, 404);
  });

  test('a form without the CSRF token, or posted from another origin, is refused and changes nothing', async () => {
    await page.goto(`${base}/new?kind=text`);
    await page.locator('[name="csrf"]').evaluate((e) => e.remove());
    await page.locator('[name="name"]').fill('ui-no-token');
    await page.locator('[name="value"]').fill('x');
    await page.getByRole('button', { name: 'Create secret' }).click();
    assert.match(await errorText(), /^Error 403 refused: the form has no valid CSRF token/);

    // Another local web server (another port is the same site, so SameSite cookies go along).
    const evil = http.createServer((_req, res) => {
      res.setHeader('Content-Type', 'text/html');
      res.end(
        `<form method="post" action="${base}/new" enctype="multipart/form-data">` +
          '<input name="csrf" value="guess"><input name="kind" value="text"><input name="name" value="ui-forged"><input name="value" value="x">' +
          '<button>win a prize</button></form>',
      );
    });
    await new Promise<void>((r) => evil.listen(0, '127.0.0.1', r));
    try {
      await page.goto(`http://127.0.0.1:${(evil.address() as { port: number }).port}/`);
      await page.getByRole('button', { name: 'win a prize' }).click();
      await page.waitForLoadState();
      // Refused before the console sees it, as on every route (src/http/browser-guard.ts): a 403 JSON message.
      assert.deepEqual(JSON.parse((await page.locator('body').textContent()) ?? ''), {
        message: 'refused: the request comes from a web page of another origin (Origin); nothing was changed',
      });
      await shot('csrf-refused');
    } finally {
      evil.close();
    }
    for (const name of ['ui-no-token', 'ui-forged']) assert.equal((await daemon.request({ path: `/secrets/${name}` })).status, 404, name);
  });

  test('no value that was typed or uploaded appears in any page the daemon sent', async () => {
    await page.goto(base);
    for (const href of await page.locator('table.secrets tbody a[href^="/ui/secrets/"]').evaluateAll((as) => as.map((a) => a.getAttribute('href')!))) {
      await page.goto(new URL(href, base).href);
    }
    assert.ok(htmlSeen.length > 30, `only ${htmlSeen.length} pages seen`);
    for (const v of values) {
      const leaked = htmlSeen.filter((h) => h.includes(v)).length;
      assert.equal(leaked, 0, `${v} appears in ${leaked} pages`);
    }
  });
});
