/**
 * Request paths that are not plain, side by side with a live reference dockerd, over raw unix
 * sockets (an HTTP client would clean or escape them first): paths with `//`, `.` or `..`
 * (given literally or escaped) are answered with a 301 to the cleaned path, a bad %-escape with
 * a plain-text 400, and escapes are decoded before routing (`%73ecrets`, `a%2Fb`, an escaped
 * name). The lists refuse a query Go's ParseQuery cannot parse (a bad escape, a ';'), which an
 * inspect ignores; the other routes read it as ParseQuery does, without the pairs it leaves
 * out. Status, Location, and the body's message must be the same on both. Answers without a
 * body carry Content-Length 0 and dockerd's headers.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startDaemon, type Daemon } from '../helpers/daemon.ts';
import { request } from '../helpers/http.ts';
import { referenceDockerd } from '../helpers/tools.ts';

const ref = referenceDockerd();
const skip = 'skip' in ref ? ref.skip : false;

// Every name of the run starts with this: the reference dockerd is shared.
const run = `paths-${randomBytes(6).toString('hex')}`;
const name = `${run}-x`;
/** Every character of the name as an escape: dockerd decodes them all before looking it up. */
const escapedName = [...Buffer.from(name)].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');

let daemon: Daemon;
const sides: { who: string; host: string; created?: string }[] = [];
before(async () => {
  if (skip) return;
  daemon = await startDaemon({});
  sides.push({ who: 'reference dockerd', host: (ref as { host: string }).host }, { who: 'secretd', host: daemon.host });
  for (const s of sides) {
    const r = await request(s.host, { method: 'POST', path: '/v1.41/secrets/create', body: { Name: name, Data: 'YWJj' } });
    assert.equal(r.status, 201, `${s.who}: ${r.text}`);
    s.created = r.json.ID;
  }
});
after(async () => {
  for (const s of sides) if (s.created) await request(s.host, { method: 'DELETE', path: `/v1.41/secrets/${s.created}` });
  await daemon?.dispose();
});

interface Answer {
  status: number | undefined;
  location: string | undefined;
  /** Header names, lower-cased and sorted, with their values (Date left out). */
  headers: Record<string, string>;
  body: string;
}

/** One request line sent as it is, on a connection of its own; the answer's status, Location and body (what came within 10 s). */
function send(host: string, method: string, target: string, body = method === 'POST' ? '{}' : ''): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const s = connect(host.slice('unix://'.length));
    let text = '';
    const deadline = setTimeout(() => s.destroy(), 10_000);
    s.on('data', (c: Buffer) => {
      text += c.toString('utf8');
    });
    s.on('error', reject);
    s.once('close', () => {
      clearTimeout(deadline);
      const end = text.indexOf('\r\n\r\n');
      const head = text.slice(0, end);
      resolve({
        status: Number(/^HTTP\/1\.1 (\d{3}) /.exec(head)?.[1]) || undefined,
        location: /\r\nlocation: ([^\r]*)/i.exec(head)?.[1],
        headers: Object.fromEntries(
          head
            .split('\r\n')
            .slice(1)
            .map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()] as [string, string])
            .filter(([n]) => n !== 'date')
            .sort(([a], [b]) => (a < b ? -1 : 1)),
        ),
        body: text.slice(end + 4),
      });
    });
    const type = body === '' ? '' : 'Content-Type: application/json\r\n';
    s.write(`${method} ${target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n${type}Content-Length: ${body.length}\r\n\r\n${body}`);
  });
}

/** A JSON body's message, or the plain body as it is. */
function message(body: string): string {
  try {
    return JSON.parse(body).message ?? body;
  } catch {
    return body.trim();
  }
}

const CASES: [method: string, target: string][] = [
  ['GET', '//v1.41/secrets'],
  ['GET', '/v1.41//secrets'],
  ['GET', '/v1.41/./secrets'],
  ['GET', '/v1.41/secrets/../secrets?filters=%7B%7D'],
  ['GET', '/v1.41/secrets/%2e%2e/secrets'],
  ['GET', '/v1.41/secrets/.'],
  ['GET', '/v1.41/secrets/%2E%2E'],
  ['GET', '/v1.41/secrets/%2Fa'],
  ['GET', '/v1.41/secrets/a%20b/./'],
  ['GET', '/v1.41/secrets/a!b*(c)/.'],
  ['GET', '/v1.41/secrets/x/..?filters=%zz'],
  ['GET', '//_ping'],
  ['POST', '/v1.41//secrets/create'],
  ['GET', '/v1.41/secrets/%zz'],
  ['GET', '/v1.41/secrets/%'],
  ['GET', '/v1.41/secrets/%4'],
  ['DELETE', '/v1.41/secrets/a%g0'],
  ['GET', '/v1.41/secrets/a%2Fb'],
  ['GET', '/v1.41/secrets/a%20b'],
  ['GET', `/v1.41/%73ecrets?filters=${encodeURIComponent(JSON.stringify({ name: [run] }))}`],
  ['GET', `/v1.41/secrets/${escapedName}`],
  ['GET', '/v1.41/secrets?x=%zz'],
  ['GET', '/v1.41/secrets?%zz=1&y=%qq'],
  ['GET', '/v1.41/secrets?filters=%7B%7D&a;b=1'],
  ['GET', '/v1.41/secrets?x=%zz&a;b'],
  ['GET', '/v1.41/nodes?x=%4'],
  ['GET', `/v1.41/secrets/${name}?x=%zz&a;b`],
  ['POST', '/v1.41/swarm/update?version=%zz'],
  ['POST', '/v1.41/swarm/update?version=1;x&rotateWorkerToken=1'],
  ['POST', `/v1.41/secrets/${name}/update?%76ersion=x`],
];

describe('request paths as dockerd reads them', { skip }, () => {
  for (const [method, target] of CASES) {
    test(`${method} ${target.slice(0, 60)}`, async () => {
      const [theirs, ours] = await Promise.all(sides.map((s) => send(s.host, method, target)));
      assert.equal(ours!.status, theirs!.status, `status: dockerd ${theirs!.status} ${theirs!.body}, secretd ${ours!.status} ${ours!.body}`);
      assert.equal(ours!.location, theirs!.location, 'Location');
      if (ours!.status === 200) {
        const [a, b] = [JSON.parse(theirs!.body), JSON.parse(ours!.body)];
        const names = (x: { Spec: { Name: string } } | { Spec: { Name: string } }[]) => (Array.isArray(x) ? x : [x]).map((s) => s.Spec.Name);
        assert.deepEqual(names(b), names(a));
        assert.deepEqual(names(b), [name]);
      } else assert.equal(message(ours!.body), message(theirs!.body), 'message');
    });
  }
});

describe('answers without a body, as dockerd writes them', { skip }, () => {
  /** The headers that differ by daemon only in value. */
  const own = (h: Record<string, string>) => ({ ...h, 'api-version': '*', server: '*' });

  test('OPTIONS on any path: 200, the Engine headers, Content-Length 0', async () => {
    for (const target of ['/v1.41/secrets', '/nonexistent']) {
      const [theirs, ours] = await Promise.all(sides.map((s) => send(s.host, 'OPTIONS', target)));
      assert.equal(ours!.status, 200);
      assert.deepEqual(own(ours!.headers), own(theirs!.headers), target);
    }
  });

  test('an update: 200 with Content-Length 0, not chunked', async () => {
    const answers: Answer[] = [];
    for (const s of sides) {
      const current = await request(s.host, { path: `/v1.41/secrets/${s.created}` });
      const spec = JSON.stringify({ Name: name, Labels: { run } });
      answers.push(await send(s.host, 'POST', `/v1.41/secrets/${s.created}/update?version=${current.json.Version.Index}`, spec));
    }
    const [theirs, ours] = answers;
    assert.equal(ours!.status, 200, ours!.body);
    assert.deepEqual(own(ours!.headers), own(theirs!.headers));
    assert.equal(ours!.headers['content-length'], '0');
  });
});

describe("requests that cannot be parsed, answered in Go's words", { skip }, () => {
  /** Sends `bytes` as they are and resolves with the whole answer, up to the close (or what came within 10 s). */
  const exchange = (host: string, bytes: string) =>
    new Promise<string>((resolve) => {
      const s = connect(host.slice('unix://'.length));
      let text = '';
      const deadline = setTimeout(() => s.destroy(), 10_000);
      s.on('error', () => {});
      s.on('data', (c: Buffer) => {
        text += c.toString('latin1');
      });
      s.once('close', () => {
        clearTimeout(deadline);
        resolve(text);
      });
      s.write(bytes);
    });
  const CASES: [string, string][] = [
    ['a header line without a colon', 'GET /_ping HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n'],
    ['not HTTP', 'GARBAGE\r\n\r\n'],
    ['two Content-Lengths', 'GET /_ping HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n'],
    ['a request line past 1 MiB + 4 KiB', `GET /_ping?pad=${'x'.repeat(1024 * 1024 + 8192)} HTTP/1.1\r\nHost: x\r\n\r\n`],
    ['HTTP/1.1 without a Host', 'GET /_ping HTTP/1.1\r\n\r\n'],
  ];
  for (const [what, bytes] of CASES) {
    test(what, async () => {
      const [theirs, ours] = await Promise.all(sides.map((s) => exchange(s.host, bytes)));
      assert.match(theirs!, /^HTTP\/1\.1 4\d\d /);
      assert.equal(ours, theirs);
    });
  }

  test('HTTP/1.0 without a Host is served (it needs none)', async () => {
    const answers = await Promise.all(sides.map((s) => exchange(s.host, 'GET /_ping HTTP/1.0\r\n\r\n')));
    for (const [i, a] of answers.entries()) {
      assert.match(a, /^HTTP\/1\.[01] 200 OK\r\n/, sides[i]!.who);
      assert.ok(a.endsWith('\r\n\r\nOK'), `${sides[i]!.who}: ${a}`);
    }
  });
});
