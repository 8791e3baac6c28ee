/**
 * The key walk at start (src/secrets/key-rotation.ts) on a real SQLite store and key file: a
 * store whose last complete walk found the one KEK the keyring holds is not walked again, and
 * any other state (a rotation, an interrupted one, a store never walked) is.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import pino from 'pino';
import { KEYRING_FILE } from '../../src/crypto/keyring.ts';
import { KeyService } from '../../src/crypto/keys.ts';
import { rfc3339Nano } from '../../src/core/clock.ts';
import { newId } from '../../src/core/ids.ts';
import { KeyRotation } from '../../src/secrets/key-rotation.ts';
import { sealContext } from '../../src/crypto/seal-binding.ts';
import { SqliteStore } from '../../src/store/sqlite.ts';
import type { Store } from '../../src/store/types.ts';

const roots: string[] = [];
after(() => {
  for (const dir of roots) rmSync(dir, { recursive: true, force: true });
});

/** The store and keys of one data root, as a start opens them, with a count of the walk's page reads. */
function open(root: string) {
  const store = new SqliteStore(join(root, 'secretd.db'));
  const keys = new KeyService({ file: join(root, KEYRING_FILE) });
  const pages = { read: 0 };
  // The real store, with its page reads counted.
  const counted: Store = new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'sealedPage') pages.read++;
      const value = Reflect.get(target, prop, receiver) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  const rotation = new KeyRotation(counted, keys, pino({ level: 'silent' }));
  /** A start's walk, to its end. */
  const walk = async () => {
    rotation.start();
    await rotation.settled();
    return pages.read;
  };
  return { store, keys, rotation, pages, walk, close: () => store.close() };
}

async function seed(root: string, n: number): Promise<string[]> {
  const { store, keys, close } = open(root);
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const record = { id: newId(), name: `s-${i}-${newId().slice(0, 6)}`, labels: {}, createdAt: rfc3339Nano() };
    await store.createSecret({ ...record, sealed: await keys.seal(Buffer.from(`value ${i}`), sealContext(record)) });
    ids.push(record.id);
  }
  await close();
  return ids;
}

async function keksOf(root: string): Promise<Set<string>> {
  const { store, keys, close } = open(root);
  const out = new Set((await store.sealedPage('', 1000)).map((e) => keys.kekIdOf(e.sealed)));
  await close();
  return out;
}

function dataRoot(): string {
  const dir = mkdtempSync(join(tmpdir(), 'secretd-walk-'));
  roots.push(dir);
  return dir;
}

test('a start after a complete walk reads no page; a store never walked is walked once', async () => {
  const root = dataRoot();
  await seed(root, 120);
  const first = open(root);
  assert.ok((await first.walk()) >= 2, 'the first start walks the store');
  assert.equal(await first.store.keysWalked(), first.keys.currentKeyId());
  await first.close();
  const second = open(root);
  assert.equal(await second.walk(), 0, 'nothing changed since the last walk');
  assert.equal(second.rotation.state.state, 'idle');
  await second.close();
});

test('a rotation walks again, and so does the start after a rotation that a kill interrupted', async () => {
  const root = dataRoot();
  await seed(root, 30);
  const a = open(root);
  await a.walk();
  await a.rotation.rotate();
  await a.rotation.settled();
  const rotated = a.keys.currentKeyId();
  assert.equal(await a.store.keysWalked(), rotated);
  await a.close();
  assert.deepEqual([...(await keksOf(root))], [rotated]);

  // A new KEK made current, then killed before any value moved: the mark names the old one.
  const b = open(root);
  await b.keys.rotateKek();
  const next = b.keys.currentKeyId();
  await b.close();
  const c = open(root);
  assert.ok((await c.walk()) > 0);
  assert.deepEqual([...(await keksOf(root))], [next]);
  assert.deepEqual(c.keys.keyIds(), [next], 'the old KEK is gone after the walk');
  assert.equal(await c.store.keysWalked(), next);
  await c.close();
});

test('a mark naming the current KEK is not trusted while the keyring holds another one', async () => {
  const root = dataRoot();
  await seed(root, 10);
  const a = open(root);
  await a.keys.rotateKek();
  await a.store.markKeysWalked(a.keys.currentKeyId()); // as if a walk had ended but the old KEK was kept
  assert.equal(a.keys.keyIds().length, 2);
  assert.ok((await a.walk()) > 0);
  assert.deepEqual([...(await keksOf(root))], [a.keys.currentKeyId()]);
  await a.close();
});
