/**
 * Slow and endless requests against a real daemon (`--request-timeout 2`): a client that stalls
 * mid-headers or mid-body, or streams a body without end, loses its connection at the deadline
 * (the body cap refuses the endless one sooner), creates nothing, and never holds up others.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startDaemon, type Daemon } from '../helpers/daemon.ts';

let daemon: Daemon;

/** Resolves with everything the server sent and how long until it closed the connection. */
function closed(socket: Socket): Promise<{ text: string; ms: number }> {
  const started = Date.now();
  let text = '';
  socket.on('data', (c: Buffer) => (text += c.toString('latin1')));
  return new Promise((resolve) => socket.once('close', () => resolve({ text, ms: Date.now() - started })));
}

function open(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(daemon.socket, () => resolve(s));
    s.once('error', reject);
  });
}

async function secretCount(): Promise<number> {
  return (await daemon.request({ path: '/secrets' })).json.length;
}

describe('slow and endless clients', () => {
  before(async () => {
    daemon = await startDaemon({ args: ['--request-timeout', '2'] });
  });
  after(() => daemon?.dispose());

  test('a body that stops halfway is cut off at the deadline with a 408, and creates nothing', async () => {
    const s = await open();
    const done = closed(s);
    s.write('POST /v1.44/secrets/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{"Name":"slow","Data":"');
    // Meanwhile the daemon serves everyone else at once.
    const started = Date.now();
    assert.equal((await daemon.request({ path: '/_ping' })).status, 200);
    assert.ok(Date.now() - started < 1500, 'a stalled client does not hold up others');
    const { text, ms } = await done;
    assert.match(text, /^HTTP\/1\.1 408 /);
    assert.ok(ms >= 1500 && ms < 6000, `closed after ${ms} ms`);
    assert.equal(await secretCount(), 0);
  });

  test('headers that never end are cut off at the deadline too', async () => {
    const s = await open();
    const done = closed(s);
    s.write('GET /v1.44/secrets HTTP/1.1\r\nHost: x\r\nX-Slow: a');
    const { ms } = await done;
    assert.ok(ms >= 1500 && ms < 6000, `closed after ${ms} ms`);
  });

  test('an endless chunked body is refused at the 4 MiB cap and the connection ends by the deadline', async () => {
    const s = await open();
    const done = closed(s);
    s.on('error', () => {}); // the server may close while we are still writing
    s.write('POST /v1.44/secrets/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n');
    const chunk = Buffer.alloc(64 * 1024, 'a');
    const pump = setInterval(() => {
      if (!s.destroyed) s.write(`${chunk.length.toString(16)}\r\n${chunk.toString('latin1')}\r\n`);
    }, 5);
    const { text, ms } = await done;
    clearInterval(pump);
    assert.match(text, /^HTTP\/1\.1 400 /);
    assert.match(text, /request body is larger than 4194304 bytes/);
    assert.ok(ms < 8000, `closed after ${ms} ms`);
    assert.equal(await secretCount(), 0);
    assert.equal((await daemon.request({ path: '/_ping' })).status, 200);
  });

  test('a bad --request-timeout stops the start with a message naming the flag', async () => {
    await assert.rejects(startDaemon({ args: ['--request-timeout', 'soon'] }), /--request-timeout soon: use a number of seconds from 1 to 3600/);
    await assert.rejects(startDaemon({ args: ['--request-timeout', '0.5'] }), /--request-timeout 0\.5: use a number of seconds from 1 to 3600/);
  });
});
