/**
 * EtcdKv, the store's own gRPC client for etcd's Range and Txn (src/store/etcd-kv.ts), against
 * real etcd: over TLS with a client certificate (and refused without one, or with a server it
 * cannot verify), past an endpoint that refuses connections and one that never answers, with an
 * answer too large to take, and with etcd's own refusals passed on as they are.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer as createHttp2Server } from 'node:http2';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { rfc3339Nano } from '../../src/core/clock.ts';
import { newId } from '../../src/core/ids.ts';
import { EtcdStore } from '../../src/store/etcd.ts';
import { EtcdCallError, EtcdKv, MAX_ANSWER_BYTES } from '../../src/store/etcd-kv.ts';
import { GroupCommit } from '../../src/store/etcd-group-commit.ts';
import { makeTestCerts, type TestCerts } from '../helpers/certs.ts';
import { etcdMissing, startEtcd, type EtcdCluster } from '../helpers/etcd.ts';

const missing = etcdMissing();
const soon = (ms = 3000) => Date.now() + ms;
const key = (s: string) => Buffer.from(s);

/** A TCP port that accepts connections and never says anything (a stopped member). */
async function silentEndpoint(): Promise<{ endpoint: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    endpoint: `127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A loopback port nothing listens on. */
async function refusingEndpoint(): Promise<string> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise((resolve) => s.close(resolve));
  return `127.0.0.1:${port}`;
}

/** One plain member for the tests below; the TLS ones start their own. */
let etcd: EtcdCluster;
before(async () => {
  if (!missing) etcd = await startEtcd(1);
});
after(async () => {
  await etcd?.dispose();
});

describe('EtcdKv on plain HTTP/2', { skip: missing }, () => {
  test('a put and a read in transactions; a range reads it back with its revision', async () => {
    const kv = new EtcdKv({ endpoints: [etcd.members[0]!.endpoint] });
    try {
      const k = key(`kv-${randomBytes(4).toString('hex')}`);
      const put = await kv.txn({ success: [{ request_put: { key: k, value: key('one') } }] }, soon());
      assert.equal(put.succeeded, true);
      const revision = Number(put.header.revision);
      assert.ok(revision > 0);
      const got = await kv.get({ key: k }, soon());
      assert.equal(got.kvs.length, 1);
      assert.equal(got.kvs[0]!.value.toString(), 'one');
      assert.equal(Number(got.kvs[0]!.mod_revision), revision);
      // A failed compare takes the failure branch and says so.
      const cas = await kv.txn(
        { compare: [{ key: k, target: 'Mod', result: 'Equal', mod_revision: revision - 1 }], success: [], failure: [{ request_range: { key: k } }] },
        soon(),
      );
      assert.equal(cas.succeeded, false);
      assert.equal(cas.responses[0]!.response_range.kvs[0]!.value.toString(), 'one');
    } finally {
      kv.close();
    }
  });

  test('an endpoint that refuses connections is passed over: the call is answered by the next', async () => {
    const kv = new EtcdKv({ endpoints: [await refusingEndpoint(), etcd.members[0]!.endpoint] });
    try {
      const res = await kv.get({ key: key('anything'), count_only: true }, soon());
      assert.ok(Number(res.header.revision) > 0);
    } finally {
      kv.close();
    }
  });

  test('an endpoint that never answers fails the call at its deadline, and the next call goes to the next endpoint', async () => {
    const silent = await silentEndpoint();
    const kv = new EtcdKv({ endpoints: [silent.endpoint, etcd.members[0]!.endpoint] });
    try {
      const started = Date.now();
      await assert.rejects(kv.get({ key: key('x') }, soon(400)), (e: unknown) => e instanceof EtcdCallError && e.timedOut);
      const took = Date.now() - started;
      assert.ok(took >= 390 && took < 3000, `failed after ${took} ms`);
      const res = await kv.get({ key: key('x'), count_only: true }, soon());
      assert.ok(Number(res.header.revision) > 0);
    } finally {
      kv.close();
      await silent.close();
    }
  });

  test('an answer larger than 4 MiB is refused, and the session still serves the next call', async () => {
    const kv = new EtcdKv({ endpoints: [etcd.members[0]!.endpoint] });
    try {
      const prefix = `big-${randomBytes(4).toString('hex')}/`;
      const value = randomBytes(1024 * 1024); // under etcd's 1.5 MiB request limit, one put each
      const puts = Math.ceil(MAX_ANSWER_BYTES / value.length) + 1;
      for (let i = 0; i < puts; i++) await kv.txn({ success: [{ request_put: { key: key(`${prefix}${i}`), value } }] }, soon());
      const end = key(prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1));
      await assert.rejects(kv.get({ key: key(prefix), range_end: end }, soon(10_000)), /exceeded 4194304 bytes/);
      const few = await kv.get({ key: key(prefix), range_end: end, limit: 2 }, soon(10_000));
      assert.equal(few.kvs.length, 2);
      assert.equal(Buffer.compare(few.kvs[0]!.value, value), 0);
    } finally {
      kv.close();
    }
  });

  test("etcd's refusal is passed on with its own words, and is not tried again", async () => {
    const kv = new EtcdKv({ endpoints: [etcd.members[0]!.endpoint] });
    try {
      const tooMany = Array.from({ length: 129 }, (_, i) => ({ request_range: { key: key(`k${i}`) } }));
      const started = Date.now();
      await assert.rejects(
        kv.txn({ success: tooMany }, soon()),
        (e: unknown) => e instanceof EtcdCallError && !e.retry && /too many operations in txn request/.test(e.message),
      );
      assert.ok(Date.now() - started < 2000);
    } finally {
      kv.close();
    }
  });
});

test('a refusal whose grpc-message is not valid percent-encoding is passed on as it came, without a crash', async () => {
  // No etcd sends this; a peer that does must not take the daemon down (decodeURIComponent throws).
  const server = createHttp2Server();
  server.on('stream', (stream) => {
    stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '13', 'grpc-message': 'bad %E0%A4%A' }, { endStream: true });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const kv = new EtcdKv({ endpoints: [`127.0.0.1:${(server.address() as { port: number }).port}`] });
  try {
    await assert.rejects(kv.get({ key: key('x') }, soon()), (e: unknown) => e instanceof EtcdCallError && e.code === 13 && e.message === 'bad %E0%A4%A');
  } finally {
    kv.close();
    await new Promise((resolve) => server.close(resolve));
  }
});

describe('GroupCommit over EtcdKv', { skip: missing }, () => {
  test('a grouped transaction etcd refuses as a whole (a key put twice) is sent again write by write', async () => {
    const kv = new EtcdKv({ endpoints: [etcd.members[0]!.endpoint] });
    try {
      const marker = { request_put: { key: key('group/marker'), value: Buffer.alloc(0) } };
      const group = new GroupCommit(marker, (compare, success, failure) => kv.txn({ compare, success, failure }, soon()));
      const same = key(`group/${randomBytes(4).toString('hex')}`);
      const write = (value: string, touch: string) => ({
        compare: [],
        success: [{ request_put: { key: same, value: key(value) } }],
        failure: [],
        touches: [touch],
        bytes: 1,
      });
      // Issued in one turn, touching different things: they share one transaction, which etcd
      // refuses ("duplicate key given in txn request"); alone, each applies.
      const [a, b] = await Promise.all([group.commit(write('a', 'one')), group.commit(write('b', 'two'))]);
      assert.equal(a.succeeded, true);
      assert.equal(b.succeeded, true);
      assert.notEqual(Number(a.header.revision), Number(b.header.revision), 'they were sent apart');
      const now = await kv.get({ key: same }, soon());
      assert.equal(now.kvs[0]!.value.toString(), Number(a.header.revision) > Number(b.header.revision) ? 'a' : 'b');
    } finally {
      kv.close();
    }
  });
});

describe('the etcd store over TLS with a client certificate', { skip: missing }, () => {
  let certs: TestCerts;
  let tlsEtcd: EtcdCluster;
  const pem = (dir: string, file: string) => readFileSync(join(dir, file));
  before(async () => {
    certs = makeTestCerts();
    tlsEtcd = await startEtcd(1, { tls: { ca: certs.ca, cert: certs.serverCert, key: certs.serverKey } });
  });
  after(async () => {
    await tlsEtcd?.dispose();
  });

  test('a secret is created and read back through the cache and directly', async () => {
    const tls = { ca: pem(certs.goodClient, 'ca.pem'), cert: pem(certs.goodClient, 'cert.pem'), key: pem(certs.goodClient, 'key.pem') };
    const store = await EtcdStore.connect({ endpoints: [tlsEtcd.members[0]!.endpoint], prefix: `tls-${randomBytes(4).toString('hex')}`, tls });
    try {
      const now = rfc3339Nano();
      const created = await store.createSecret({ id: newId(), name: 'over-tls', labels: { a: 'b' }, createdAt: now, sealed: Buffer.from('sealed') });
      const [found] = await store.findSecrets({ names: ['over-tls'] });
      assert.equal(found?.id, created.id);
      const got = await store.getSecret(created.id);
      assert.equal(got?.version, created.version);
      assert.equal(Buffer.from(got!.sealed!).toString(), 'sealed');
    } finally {
      await store.close();
    }
  });

  test('without a client certificate, or trusting another CA, the store does not connect', async () => {
    const endpoints = [tlsEtcd.members[0]!.endpoint];
    await assert.rejects(
      EtcdStore.connect({ endpoints, tls: { ca: pem(certs.caOnly, 'ca.pem') }, timeoutMs: 2000 }),
      /etcd at .* is unavailable|did not answer/,
    );
    const stranger = { ca: readFileSync(join(certs.dir, 'other-ca.pem')), cert: pem(certs.goodClient, 'cert.pem'), key: pem(certs.goodClient, 'key.pem') };
    await assert.rejects(EtcdStore.connect({ endpoints, tls: stranger, timeoutMs: 2000 }), /etcd at .* is unavailable|did not answer/);
  });
});
