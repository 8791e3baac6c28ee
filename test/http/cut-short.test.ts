/**
 * A list of all longer than two store pages is streamed: its 200 has left before the last page
 * is read. When that read fails (here: the database files are cut to nothing under it, as a
 * failing disk would leave them), the answer
 * can only end early, and the daemon log says so once, with the path and no store text: over
 * HTTP (the answer written to Node's response) and in-process (the console's ReadableStream).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, truncateSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { pino } from 'pino';
import { rfc3339Nano } from '../../src/core/clock.ts';
import { newId } from '../../src/core/ids.ts';
import { openCore, type Core } from '../../src/daemon/lifecycle.ts';
import { listen } from '../../src/http/listen.ts';
import { SchemaRegistry } from '../../src/schemas.ts';
import { PAGE_ROWS } from '../../src/store/sqlite-listing.ts';
import { TEST_SOCKET } from '../helpers/core.ts';

// Pages enough that the answer (about 1.4 MB) outgrows the socket's buffers: the last pages are
// read only after the client has its first bytes, and so after the files are lost.
const SECRETS = 16 * PAGE_ROWS + 50;

async function coreWithLog(): Promise<{ core: Core; lines: Record<string, unknown>[]; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'secretd-cut-'));
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  const core = await openCore({ dataRoot: dir, swarmInit: true }, new SchemaRegistry(), pino({ level: 'warn' }, sink));
  const createdAt = rfc3339Nano();
  await Promise.all(
    Array.from({ length: SECRETS }, (_, i) => core.store.createSecret({ id: newId(), name: `cut-${i}`, labels: {}, sealed: Buffer.from('v'), createdAt })),
  );
  return { core, lines, dir };
}

/** The failure: the rest of the list's pages are gone from the files its snapshot reads. */
function loseTheFiles(dir: string): void {
  for (const file of ['secretd.db', 'secretd.db-wal']) truncateSync(join(dir, file), 0);
}

function assertOneCutLine(lines: Record<string, unknown>[]): void {
  const cut = lines.filter((l) => String(l['msg']).startsWith('answer cut short'));
  assert.equal(cut.length, 1, `expected one "answer cut short" line, got ${JSON.stringify(lines)}`);
  assert.equal(cut[0]!['path'], '/v1.44/secrets');
  assert.doesNotMatch(JSON.stringify(cut[0]), /cut-\d|disk|malformed/, 'the line carries a name or the error text');
}

test('a list cut short over HTTP ends the answer early and is logged once', async () => {
  const { core, lines, dir } = await coreWithLog();
  const socket = join(dir, 'api.sock');
  const listener = await listen(`unix://${socket}`, core.fetch);
  try {
    const outcome = await new Promise<{ status: number; error: string | undefined }>((resolve, reject) => {
      const req = request({ socketPath: socket, path: '/v1.44/secrets' }, (res) => {
        let closing = false;
        res.on('data', () => {
          if (closing) return;
          closing = true;
          loseTheFiles(dir); // the first bytes are here: the rest of the pages are not read yet
        });
        res.on('end', () => resolve({ status: res.statusCode!, error: undefined }));
        res.on('error', (e) => resolve({ status: res.statusCode!, error: (e as NodeJS.ErrnoException).code ?? e.message }));
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(outcome.status, 200);
    assert.ok(outcome.error, 'the answer ended as if complete');
    assertOneCutLine(lines);
  } finally {
    await new Promise((resolve) => listener.server.close(resolve));
    listener.cleanup();
    await core.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a list cut short in-process errors the body stream and is logged once', async () => {
  const { core, lines, dir } = await coreWithLog();
  try {
    const res = await core.fetch(new Request('http://secretd/v1.44/secrets'), { listener: TEST_SOCKET });
    assert.equal(res.status, 200);
    const reader = res.body!.getReader();
    assert.equal((await reader.read()).done, false);
    loseTheFiles(dir);
    await assert.rejects(async () => {
      for (;;) if ((await reader.read()).done) break;
    });
    assertOneCutLine(lines);
  } finally {
    await core.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
