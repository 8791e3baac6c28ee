/**
 * Bounded resources on a real daemon, over raw sockets:
 *
 * - a crowd of idle TCP peers on a --tlsverify port (no handshake ever sent; far more than
 *   --max-connections, set low so the test is quick) locks out neither the unix socket nor a TLS
 *   client with a certificate, and the refused handshakes and shed connections are logged a few
 *   lines per window, not one each;
 * - stalled 4 MiB bodies to the delivery endpoint without a token are answered 401 before any
 *   of the body is read, and the daemon's RSS stays flat;
 * - stalled bodies that a route does read (creates on the unix socket) fill the shared body
 *   budget and no more: past it the next ones get a 503 at once, RSS stays bounded, and once
 *   they are gone creates work again;
 * - a connection kept alive between requests and left idle longer than Node's default
 *   keep-alive timeout (5 s) still takes the next request, on the unix socket and on a loopback
 *   TCP listener, as the reference dockerd's unix socket does (asked side by side): a pooled
 *   client that reuses it gets an answer, not a reset;
 * - idle connections are bounded by --max-connections on the unix socket too: at the cap the
 *   oldest idle one is closed for a new one, and with every connection in a request the new one
 *   is refused; once one of them goes, new connections are taken again.
 *
 * The numbers measured are printed as diagnostics (`# …`).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { connect, type Socket } from 'node:net';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { makeTestCerts, type TestCerts } from '../helpers/certs.ts';
import { startDaemon, type Daemon } from '../helpers/daemon.ts';
import { request } from '../helpers/http.ts';
import { referenceDockerd } from '../helpers/tools.ts';

/** Longer than Node's default keepAliveTimeout (5 s) and the 1 s its timers may run late. */
const IDLE_MS = 7_000;
const WAIT_MS = 5_000;
const ref = referenceDockerd();

const daemons: Daemon[] = [];
const sockets: Socket[] = [];
after(async () => {
  for (const s of sockets) s.destroy();
  for (const d of daemons) await d.dispose();
});

async function start(args: string[]): Promise<Daemon> {
  const d = await startDaemon({ args });
  daemons.push(d);
  return d;
}

function tcpPort(d: Daemon): number {
  const m = /listening on .*tcp:\/\/127\.0\.0\.1:(\d+)/.exec(d.logs);
  assert.ok(m, d.logs);
  return Number(m[1]);
}

/** The daemon's resident set, in MiB, from /proc. */
function rssMiB(d: Daemon): number {
  const status = readFileSync(`/proc/${d.daemonPid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)![1]) / 1024;
}

/** A raw connection; resolves once connected (or closed by the daemon at once). */
function open(target: { port: number } | { path: string }): Promise<Socket> {
  return new Promise((resolve) => {
    const s = 'port' in target ? connect(target.port, '127.0.0.1') : connect(target.path);
    sockets.push(s);
    s.on('error', () => {});
    s.once('connect', () => resolve(s));
    s.once('close', () => resolve(s));
  });
}

/** The status of the first response line on `s`, or undefined if none came within `ms`. */
function statusOn(s: Socket, ms: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    let text = '';
    const timer = setTimeout(() => done(undefined), ms);
    const done = (v: number | undefined) => {
      clearTimeout(timer);
      s.off('data', onData);
      resolve(v);
    };
    const onData = (c: Buffer) => {
      text += c.toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3}) /.exec(text);
      if (m) done(Number(m[1]));
    };
    s.on('data', onData);
    s.once('close', () => done(/^HTTP\/1\.1 (\d{3}) /.exec(text) ? Number(/^HTTP\/1\.1 (\d{3}) /.exec(text)![1]) : undefined));
  });
}

function tlsPing(port: number, certs: TestCerts): Promise<number> {
  const pem = (f: string) => readFileSync(f);
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        path: '/_ping',
        agent: false,
        ca: pem(certs.ca),
        cert: pem(join(certs.goodClient, 'cert.pem')),
        key: pem(join(certs.goodClient, 'key.pem')),
        servername: 'localhost',
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

async function timed<T>(f: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const t = performance.now();
  const value = await f();
  return { value, ms: Math.round(performance.now() - t) };
}

describe('bounded resources', () => {
  test('idle TCP peers on a --tlsverify port lock out neither the unix socket nor TLS clients', async () => {
    const certs = makeTestCerts();
    const CAP = 20;
    const IDLE = 400;
    const d = await start([
      '-H',
      'tcp://127.0.0.1:0',
      '--tlsverify',
      '--tlscacert',
      certs.ca,
      '--tlscert',
      certs.serverCert,
      '--tlskey',
      certs.serverKey,
      '--max-connections',
      String(CAP),
      '--request-timeout',
      '30',
    ]);
    const port = tcpPort(d);
    for (let i = 0; i < IDLE; i++) await open({ port });
    const ping = await timed(() => d.request({ path: '/_ping' }));
    assert.equal(ping.value.status, 200);
    const tls: number[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await timed(() => tlsPing(port, certs));
      assert.equal(r.value, 200);
      tls.push(r.ms);
      await open({ port }); // and more idle peers in between
    }
    const stillOpen = sockets.filter((s) => !s.destroyed && s.readyState === 'open').length;
    assert.ok(stillOpen <= CAP + 5, `${stillOpen} idle connections are still open with a cap of ${CAP}`);
    const lines = d.logs.split('\n');
    const shedLines = lines.filter((l) => l.includes('connection cap reached')).length;
    const tlsLines = lines.filter((l) => l.includes('TLS handshake refused')).length;
    assert.ok(shedLines >= 1 && shedLines <= 20, `${shedLines} lines for ${IDLE} shed connections`);
    assert.ok(tlsLines <= 20, `${tlsLines} lines for the refused handshakes`);
    console.log(
      `# ${IDLE + 5} idle peers, cap ${CAP}: unix /_ping in ${ping.ms} ms, TLS /_ping in ${tls.join(', ')} ms; ` +
        `${stillOpen} still open; ${shedLines} shed + ${tlsLines} handshake log lines`,
    );
    for (const s of sockets.splice(0)) s.destroy();
  });

  test('a TLS peer that never handshakes is closed at --request-timeout', async () => {
    const certs = makeTestCerts();
    const d = await start([
      '-H',
      'tcp://127.0.0.1:0',
      '--tlsverify',
      '--tlscacert',
      certs.ca,
      '--tlscert',
      certs.serverCert,
      '--tlskey',
      certs.serverKey,
      '--request-timeout',
      '2',
    ]);
    const t = performance.now();
    const s = await open({ port: tcpPort(d) });
    await new Promise<void>((resolve, reject) => {
      const guard = setTimeout(() => reject(new Error('still open after 10 s')), 10_000);
      s.once('close', () => {
        clearTimeout(guard);
        resolve();
      });
    });
    const ms = Math.round(performance.now() - t);
    assert.ok(ms >= 1_500 && ms < 6_000, `closed after ${ms} ms`);
    console.log(`# an idle TLS peer was closed after ${ms} ms (--request-timeout 2)`);
  });

  test('stalled 4 MiB bodies to the delivery endpoint without a token are refused before reading; RSS stays flat', async () => {
    const d = await start(['-H', 'tcp://127.0.0.1:0', '--delivery']);
    const port = tcpPort(d);
    const before = rssMiB(d);
    const N = 300;
    const chunk = Buffer.alloc(256 * 1024, 0x20);
    const t = performance.now();
    const answers = await Promise.all(
      Array.from({ length: N }, async () => {
        const s = await open({ port });
        const status = statusOn(s, 15_000);
        s.write(
          `POST /_secretd/v1/secrets/x/value HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n` +
            `Content-Type: application/json\r\nContent-Length: ${4 * 1024 * 1024}\r\n\r\n`,
        );
        s.write(chunk); // then nothing more: the body stalls
        return status;
      }),
    );
    const ms = Math.round(performance.now() - t);
    const peak = rssMiB(d);
    assert.deepEqual([...new Set(answers)], [401]);
    assert.ok(peak - before < 100, `RSS grew from ${before.toFixed(0)} to ${peak.toFixed(0)} MiB`);
    console.log(`# ${N} stalled 4 MiB bodies without a token: all 401 in ${ms} ms; RSS ${before.toFixed(0)} → ${peak.toFixed(0)} MiB`);
    for (const s of sockets.splice(0)) s.destroy();
  });

  test('stalled bodies that are read fill the shared budget and no more: the next get a 503 at once', async () => {
    const d = await start([]);
    const before = rssMiB(d);
    const N = 28;
    const body = Buffer.alloc(4 * 1024 * 1024 - 1, 0x20); // all but the last byte of a 4 MiB body
    const pending: Promise<number | undefined>[] = [];
    const t = performance.now();
    for (let i = 0; i < N; i++) {
      const s = await open({ path: d.socket });
      pending.push(statusOn(s, 8_000));
      s.write(`POST /v1.44/secrets/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${4 * 1024 * 1024}\r\n\r\n`);
      await new Promise<void>((r) => s.write(body, () => r()));
    }
    const answers = await Promise.all(pending);
    const ms = Math.round(performance.now() - t);
    const peak = rssMiB(d);
    const refused = answers.filter((a) => a === 503).length;
    const waiting = answers.filter((a) => a === undefined).length;
    assert.deepEqual(new Set(answers.filter((a) => a !== undefined)), new Set([503]), `answers: ${answers.join(',')}`);
    assert.ok(waiting <= 16, `${waiting} bodies held (the budget is 64 MiB, 16 of them)`);
    assert.ok(refused >= N - 16, `${refused} refused`);
    assert.ok(peak - before < 64 + 150, `RSS grew from ${before.toFixed(0)} to ${peak.toFixed(0)} MiB`);
    for (const s of sockets.splice(0)) s.destroy();
    const deadline = Date.now() + 10_000;
    let created = 0;
    while (Date.now() < deadline) {
      created = (await d.request({ method: 'POST', path: '/v1.44/secrets/create', body: { Name: 'after-flood', Data: 'eA==' } })).status;
      if (created === 201) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(created, 201, 'the budget is given back once the stalled bodies are gone');
    console.log(
      `# ${N} stalled 4 MiB bodies read by creates: ${waiting} held, ${refused} refused with 503 (within ${ms} ms); ` +
        `RSS ${before.toFixed(0)} → ${peak.toFixed(0)} MiB`,
    );
  });
});

type Target = { path: string } | { port: number };

/** A raw connection that records whether the other side closed it. */
class Conn {
  readonly socket: Socket;
  closed = false;
  private text = '';
  private readonly opened: Promise<void>;
  constructor(target: Target) {
    this.socket = 'port' in target ? connect(target.port, '127.0.0.1') : connect(target.path);
    sockets.push(this.socket);
    this.socket.on('error', () => {});
    this.socket.on('data', (c: Buffer) => {
      this.text += c.toString('latin1');
    });
    this.socket.once('close', () => {
      this.closed = true;
    });
    this.opened = new Promise((resolve) => {
      this.socket.once('connect', () => resolve());
      this.socket.once('close', () => resolve());
    });
  }

  ready(): Promise<void> {
    return this.opened;
  }

  /** Sends GET /_ping and resolves with the status of its answer, or undefined if the connection ended without one. */
  async ping(host: string): Promise<number | undefined> {
    this.text = '';
    this.socket.write(`GET /_ping HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
    const deadline = Date.now() + WAIT_MS;
    // The answer is whole once its 2-byte body ("OK") follows the headers.
    while (!/^HTTP\/1\.1 \d{3} [^\r]*\r\n[\s\S]*?\r\n\r\nOK/.test(this.text) && !this.closed && Date.now() < deadline) await tick();
    const m = /^HTTP\/1\.1 (\d{3}) /.exec(this.text);
    return m ? Number(m[1]) : undefined;
  }

  /**
   * Starts a create whose body never comes: the connection serves a request until destroyed.
   * Resolves once the daemon has read its headers (it answers the Expect with 100 Continue).
   */
  async stall(): Promise<void> {
    this.text = '';
    this.socket.write(
      'POST /v1.44/secrets/create HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n',
    );
    await until('the daemon reads the stalled request', () => this.text.startsWith('HTTP/1.1 100 Continue'));
    this.socket.write('{');
  }
}

const tick = () => new Promise((r) => setTimeout(r, 20));

async function until(what: string, cond: () => boolean): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`not within ${WAIT_MS} ms: ${what}`);
    await tick();
  }
}

describe('connections kept alive between requests', () => {
  test('one idle past 5 s still takes the next request, on the unix socket and TCP, as on dockerd', async (t) => {
    const d = await start(['-H', 'tcp://127.0.0.1:0']);
    const port = tcpPort(d);
    const sides: { name: string; conn: Conn; host: string }[] = [
      { name: 'secretd unix', conn: new Conn({ path: d.socket }), host: 'localhost' },
      { name: 'secretd tcp', conn: new Conn({ port }), host: `127.0.0.1:${port}` },
    ];
    if ('host' in ref) sides.push({ name: 'dockerd unix', conn: new Conn({ path: ref.host.slice('unix://'.length) }), host: 'localhost' });
    else t.diagnostic(`dockerd side skipped: ${ref.skip}`);
    for (const s of sides) {
      await s.conn.ready();
      assert.equal(await s.conn.ping(s.host), 200, `${s.name}: first /_ping`);
    }
    await new Promise((r) => setTimeout(r, IDLE_MS));
    for (const s of sides) {
      assert.equal(s.conn.closed, false, `${s.name}: the idle connection was closed after ${IDLE_MS} ms`);
      assert.equal(await s.conn.ping(s.host), 200, `${s.name}: /_ping on the connection after ${IDLE_MS} ms idle`);
    }
  });

  test('--max-connections bounds the unix socket: the oldest idle one makes room, and with all busy a new one is refused', async () => {
    const CAP = 4;
    const d = await start(['--max-connections', String(CAP)]);
    const idle: Conn[] = [];
    for (let i = 0; i < CAP; i++) {
      const c = new Conn({ path: d.socket });
      await c.ready();
      assert.equal(await c.ping('localhost'), 200);
      idle.push(c);
    }
    const extra = new Conn({ path: d.socket });
    await extra.ready();
    await until('the oldest idle connection is closed', () => idle[0]!.closed);
    assert.equal(await extra.ping('localhost'), 200, 'the connection that took its place is served');
    assert.deepEqual(
      idle.slice(1).map((c) => c.closed),
      [false, false, false],
      'only the oldest one was closed',
    );
    await until('the eviction is logged', () => d.logs.includes('connection cap reached: closed the oldest idle connection'));

    // Every connection in a request: a new one is refused, the busy ones stay.
    const busy = [...idle.slice(1), extra];
    for (const c of busy) await c.stall();
    const refused = new Conn({ path: d.socket });
    await refused.ready();
    await until('the connection over the cap is refused', () => refused.closed);
    assert.equal(
      busy.some((c) => c.closed),
      false,
      'no connection serving a request was closed',
    );
    await until('the refusal is logged', () => d.logs.includes('connection cap reached: refused a connection'));

    // Once the daemon has seen one of them go (its close takes a moment to arrive), a new one is served.
    busy[0]!.socket.destroy();
    const deadline = Date.now() + WAIT_MS;
    let served: number | undefined;
    while (served !== 200 && Date.now() < deadline) {
      const next = new Conn({ path: d.socket });
      await next.ready();
      served = await next.ping('localhost');
      if (served !== 200) await tick();
    }
    assert.equal(served, 200, `no new connection was served within ${WAIT_MS} ms of one going`);
  });
});

/**
 * Sends `text` on a new unix socket connection, ignoring a write the server cuts short (it may
 * answer and close before reading it all), and resolves with the status of the answer it sent.
 */
function rawStatus(path: string, text: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const s = connect(path);
    sockets.push(s);
    let got = '';
    s.on('error', () => {});
    s.on('data', (c: Buffer) => {
      got += c.toString('latin1');
    });
    s.once('close', () => {
      const m = /^HTTP\/1\.1 (\d{3}) /.exec(got);
      resolve(m ? Number(m[1]) : undefined);
    });
    s.write(text);
  });
}

describe('request lines and headers as long as dockerd takes', () => {
  test('a list filtered by 600 names (a 25 KB request line) is answered, and one past 1 MiB gets a 431, on both', async (t) => {
    const d = await start([]);
    const targets = [{ name: 'secretd', host: d.host }];
    if ('host' in ref) targets.push({ name: 'dockerd', host: ref.host });
    else t.diagnostic(`dockerd side skipped: ${ref.skip}`);
    const run = randomUUID();
    const names = Array.from({ length: 600 }, (_, i) => `long-filter-${run}-${i}`);
    const listed = `/v1.41/secrets?filters=${encodeURIComponent(JSON.stringify({ name: names }))}`;
    const tooLong = `/_ping?pad=${'x'.repeat(1024 * 1024 + 8192)}`;
    for (const target of targets) {
      const list = await request(target.host, { path: listed });
      assert.equal(list.status, 200, `${target.name}: ${listed.length}-byte list: ${list.text}`);
      assert.deepEqual(list.json, [], target.name);
      const refused = await rawStatus(target.host.slice('unix://'.length), `GET ${tooLong} HTTP/1.1\r\nHost: localhost\r\n\r\n`);
      assert.equal(refused, 431, `${target.name}: ${tooLong.length}-byte request line`);
    }
  });
});
