/**
 * A list of all longer than one store page (src/store/sqlite-listing.ts) is streamed: chunked,
 * with dockerd's headers, the same text as the secrets' own inspects joined, from one snapshot;
 * and dockerode and the docker CLI read it as any list. A client that goes away mid-list leaves
 * the daemon serving.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readlinkSync } from 'node:fs';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import Docker from 'dockerode';
import { PAGE_ROWS } from '../../src/store/sqlite-listing.ts';
import { startDaemon, type Daemon } from '../helpers/daemon.ts';
import { dockerCliMissing } from '../helpers/tools.ts';

let daemon: Daemon;
const count = PAGE_ROWS * 2 + 3;

before(async () => {
  daemon = await startDaemon();
  const data = Buffer.from('x').toString('base64');
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (let i = next++; i < count; i = next++) {
        const res = await daemon.request({ method: 'POST', path: '/secrets/create', body: { Name: `long-${i}`, Labels: { n: String(i) }, Data: data } });
        assert.equal(res.status, 201, res.text);
      }
    }),
  );
});
after(async () => daemon?.dispose());

describe('a list of all longer than a page', () => {
  test('is chunked, carries dockerd headers, and is exactly the secrets in ID order as their inspects say', async () => {
    const res = await daemon.request({ path: '/v1.44/secrets' });
    assert.equal(res.status, 200);
    assert.equal(res.headers['transfer-encoding'], 'chunked');
    assert.equal(res.headers['content-length'], undefined);
    assert.equal(res.headers['content-type'], 'application/json');
    assert.equal(res.headers['api-version'], '1.44');
    assert.ok(res.text.endsWith(']\n'), 'Go ends the JSON with a newline');
    const list = res.json as { ID: string; Spec: { Name: string } }[];
    assert.equal(list.length, count);
    const ids = list.map((s) => s.ID);
    assert.deepEqual(ids, [...ids].sort(), 'in ID order');
    for (const i of [0, PAGE_ROWS - 1, PAGE_ROWS, count - 1]) {
      const one = await daemon.request({ path: `/v1.44/secrets/${list[i]!.ID}` });
      assert.equal(JSON.stringify(list[i]), JSON.stringify(one.json), `entry ${i} is the secret's inspect`);
    }
  });

  test('dockerode and the docker CLI read it', { skip: dockerCliMissing() }, async () => {
    const docker = new Docker({ socketPath: daemon.socket });
    assert.equal((await docker.listSecrets()).length, count);
    const cli = spawnSync('docker', ['secret', 'ls', '-q'], { env: { ...process.env, DOCKER_HOST: `unix://${daemon.socket}` }, encoding: 'utf8' });
    assert.equal(cli.status, 0, cli.stderr);
    assert.equal(cli.stdout.trim().split('\n').length, count);
  });

  test('a client that closes the connection mid-list leaves the daemon serving, and the next list whole', async () => {
    // SQLite keeps a closed connection's descriptor for reuse while another holds locks on the file:
    // count after one whole list, then check that abandoned lists add none.
    const pid = daemon.daemonPid!;
    const dbHandles = () =>
      readdirSync(`/proc/${pid}/fd`).filter((fd) => {
        try {
          return readlinkSync(`/proc/${pid}/fd/${fd}`).endsWith('/secretd.db');
        } catch {
          return false; // closed while looked at
        }
      }).length;
    const baseline = dbHandles();
    for (let round = 0; round < 5; round++) {
      await new Promise<void>((resolve, reject) => {
        const socket = net.connect(daemon.socket, () => socket.write('GET /v1.44/secrets HTTP/1.1\r\nHost: x\r\n\r\n'));
        socket.once('data', () => {
          socket.destroy(); // a unix socket has no RST: closed with the answer half read
          resolve();
        });
        socket.once('error', reject);
      });
    }
    // Each abandoned list's own read connection closes (it would hold a snapshot and keep the WAL growing).
    const deadline = Date.now() + 10_000;
    while (dbHandles() > baseline && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.ok(dbHandles() <= baseline, `${dbHandles()} handles on the database after abandoned lists, ${baseline} before`);
    const res = await daemon.request({ path: '/v1.44/secrets' });
    assert.equal((res.json as unknown[]).length, count);
    const created = await daemon.request({ method: 'POST', path: '/secrets/create', body: { Name: 'after-resets', Data: 'eA==' } });
    assert.equal(created.status, 201, created.text);
  });
});
