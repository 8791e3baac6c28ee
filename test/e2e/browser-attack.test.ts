/**
 * A hostile web page in a real browser (Debian's Chromium via playwright-core) against a daemon
 * with a loopback TCP listener, as `--ui` needs one: the page's cross-origin form POST
 * (`enctype="text/plain"`, which needs no preflight) and its fetches to
 * `/v1.44/swarm/leave?force=1` and `/v1.44/swarm/update` reach the daemon and are refused with
 * a 403, and change nothing (the swarm, the secret and autolock are as before). A DNS-rebound
 * name (mapped to 127.0.0.1 in the browser) cannot read `/swarm` either.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startDaemon, type Daemon } from '../helpers/daemon.ts';

const CHROMIUM = '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing (Debian: apt-get install chromium)`;

let daemon: Daemon;
let browser: Browser;
let page: Page;
let port: number;
let evil: http.Server;
let evilPort: number;
let attackPage = '';

/** Lines of the daemon's request log for this path (the log never has the query). */
function logged(method: string, path: string): { status: number }[] {
  return daemon.logs
    .split('\n')
    .filter((l) => l.includes('"msg":"request"'))
    .map((l) => JSON.parse(l) as { method: string; path: string; status: number })
    .filter((l) => l.method === method && l.path === path);
}

async function eventually(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}:\n${daemon.logs.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function state() {
  const swarm = await daemon.request({ path: '/v1.44/swarm' });
  const secrets = await daemon.request({ path: '/v1.44/secrets' });
  return {
    swarm: swarm.status,
    id: swarm.json?.ID,
    autolock: swarm.json?.Spec?.EncryptionConfig?.AutoLockManagers,
    secrets: (secrets.json ?? []).map((s: any) => s.Spec.Name),
  };
}

describe('a hostile web page in Chromium', { skip }, () => {
  before(async () => {
    daemon = await startDaemon({ args: ['-H', 'tcp://127.0.0.1:0'] });
    port = Number(/listening on .*tcp:\/\/127\.0\.0\.1:(\d+)/.exec(daemon.logs)![1]);
    assert.equal((await daemon.request({ method: 'POST', path: '/v1.44/secrets/create', body: { Name: 'precious', Data: 'eA==' } })).status, 201);
    evil = http.createServer((_req, res) => {
      res.setHeader('Content-Type', 'text/html');
      res.end(attackPage);
    });
    await new Promise<void>((r) => evil.listen(0, '127.0.0.1', r));
    evilPort = (evil.address() as { port: number }).port;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--host-resolver-rules=MAP rebind.test 127.0.0.1'] });
    page = await (await browser.newContext()).newPage();
  });
  after(async () => {
    await browser?.close();
    evil?.close();
    await daemon?.dispose();
  });

  test('a cross-origin form POST (text/plain) to /swarm/leave?force=1 is refused and erases nothing', async () => {
    const before = await state();
    assert.deepEqual(before.secrets, ['precious']);
    attackPage =
      `<form method="post" action="http://127.0.0.1:${port}/v1.44/swarm/leave?force=1" enctype="text/plain">` +
      `<input name='{"a":"' value='"}'><button>win a prize</button></form>`;
    // From another port of the same host (same-site) and from another host name (cross-site).
    for (const origin of [`http://127.0.0.1:${evilPort}`, `http://localhost:${evilPort}`]) {
      const seen = logged('POST', '/v1.44/swarm/leave').length;
      await page.goto(`${origin}/`);
      await page.getByRole('button', { name: 'win a prize' }).click();
      await page.waitForLoadState();
      await eventually('the form POST to reach the daemon', () => logged('POST', '/v1.44/swarm/leave').length > seen);
      assert.deepEqual(
        logged('POST', '/v1.44/swarm/leave')
          .slice(seen)
          .map((l) => l.status),
        [403],
      );
      assert.match(JSON.parse((await page.locator('body').textContent()) ?? '{}').message, /^refused: the request comes from a web page of another origin/);
    }
    assert.deepEqual(await state(), before);
  });

  test('cross-origin fetches (no-cors, and a bodiless swarm update) are refused and change nothing', async () => {
    const before = await state();
    const version = (await daemon.request({ path: '/v1.44/swarm' })).json.Version.Index;
    attackPage = '<p>nothing to see</p>';
    await page.goto(`http://localhost:${evilPort}/`);
    const leaves = logged('POST', '/v1.44/swarm/leave').length;
    const updates = logged('POST', '/v1.44/swarm/update').length;
    const outcome = await page.evaluate(
      async ({ port, version }) => {
        const results: string[] = [];
        for (const [path, init] of [
          [`/v1.44/swarm/leave?force=1`, { method: 'POST', mode: 'no-cors', body: 'x' }],
          [`/v1.44/swarm/update?version=${version}`, { method: 'POST', mode: 'no-cors' }],
          [`/v1.44/swarm/leave?force=1`, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: '{}' }],
        ] as const) {
          try {
            const r = await fetch(`http://127.0.0.1:${port}${path}`, init as RequestInit);
            results.push(`status ${r.status}`);
          } catch (e) {
            results.push(`blocked ${(e as Error).name}`);
          }
        }
        return results;
      },
      { port, version },
    );
    // no-cors answers are opaque (status 0); the CORS fetch fails for want of CORS headers.
    assert.deepEqual(outcome, ['status 0', 'status 0', 'blocked TypeError']);
    await eventually(
      'the fetches to reach the daemon',
      () => logged('POST', '/v1.44/swarm/leave').length >= leaves + 2 && logged('POST', '/v1.44/swarm/update').length > updates,
    );
    assert.deepEqual(
      logged('POST', '/v1.44/swarm/leave')
        .slice(leaves)
        .map((l) => l.status),
      [403, 403],
    );
    assert.deepEqual(
      logged('POST', '/v1.44/swarm/update')
        .slice(updates)
        .map((l) => l.status),
      [403],
    );
    assert.deepEqual(await state(), before);
  });

  test('a DNS-rebound name cannot read /swarm (its Host is refused)', async () => {
    const res = await page.goto(`http://rebind.test:${port}/v1.44/swarm`);
    assert.equal(res?.status(), 403);
    const text = (await page.locator('body').textContent()) ?? '';
    assert.doesNotMatch(text, /JoinTokens|SWMTKN/);
    assert.match(JSON.parse(text).message, /Host header names neither this listener nor a loopback name/);
  });
});
