/**
 * Envelope encryption (src/crypto/envelope.ts) through the key service and the key file
 * (src/crypto/keys.ts, keyring.ts): per-value data keys, binding to the record, KEK rotation
 * and re-wrapping, autolock's locked key file, and opening format-1 values of older data roots.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { formatUnlockKey, MalformedUnlockKey, parseUnlockKey, WrongUnlockKey } from '../../src/crypto/autolock.ts';
import { FORMAT, parseEnvelope } from '../../src/crypto/envelope.ts';
import { KEYRING_FILE, Keyring, LockedKeyFile } from '../../src/crypto/keyring.ts';
import { KeyService } from '../../src/crypto/keys.ts';
import { seal as sealLegacy } from '../../src/crypto/legacy-envelope.ts';
import { checkKeyProvider } from '../../src/crypto/load-provider.ts';
import { newId } from '../../src/core/ids.ts';

const roots: string[] = [];
function dataRoot(): string {
  const dir = mkdtempSync(join(tmpdir(), 'secretd-keys-'));
  roots.push(dir);
  return dir;
}
after(() => {
  for (const dir of roots) rmSync(dir, { recursive: true, force: true });
});

const PLAINTEXT = Buffer.from('correct horse battery staple: the secret value nobody may read');
const ctx = (id = newId()) => `secretd/secret/${id}@2024-01-01T00:00:00.000000001Z`;
const keysIn = (root: string) => new KeyService({ file: join(root, KEYRING_FILE) });

describe('envelope encryption', () => {
  test('a value opens with the context it was sealed for, and has format 2 with the current KEK id', async () => {
    const keys = keysIn(dataRoot());
    const c = ctx();
    const sealed = await keys.seal(PLAINTEXT, c);
    assert.equal(sealed[0], FORMAT);
    assert.equal(parseEnvelope(sealed).kekId, 'k1');
    assert.ok((await keys.open(sealed, c)).equals(PLAINTEXT));
  });

  test('every value gets its own data key: the same plaintext seals differently each time', async () => {
    const keys = keysIn(dataRoot());
    const c = ctx();
    const [a, b] = [await keys.seal(PLAINTEXT, c), await keys.seal(PLAINTEXT, c)];
    assert.notDeepEqual(parseEnvelope(a).wrappedKey, parseEnvelope(b).wrappedKey);
    assert.notDeepEqual(a, b);
  });

  test('a value moved to another record (another ID, or another creation time) does not open', async () => {
    const keys = keysIn(dataRoot());
    const id = newId();
    const sealed = await keys.seal(PLAINTEXT, `secretd/secret/${id}@2024-01-01T00:00:00Z`);
    await assert.rejects(keys.open(sealed, `secretd/secret/${newId()}@2024-01-01T00:00:00Z`));
    await assert.rejects(keys.open(sealed, `secretd/secret/${id}@2024-01-01T00:00:01Z`));
  });

  test('a value with any single byte flipped does not open', async () => {
    const keys = keysIn(dataRoot());
    const c = ctx();
    const sealed = await keys.seal(PLAINTEXT, c);
    for (let i = 0; i < sealed.length; i++) {
      const tampered = Buffer.from(sealed);
      tampered[i]! ^= 0x01;
      await assert.rejects(keys.open(tampered, c), `byte ${i}`);
    }
  });

  test('a wrapped data key swapped in from another record does not open', async () => {
    const keys = keysIn(dataRoot());
    const [ca, cb] = [ctx(), ctx()];
    const a = parseEnvelope(await keys.seal(PLAINTEXT, ca));
    const b = await keys.seal(PLAINTEXT, cb);
    const { rewrapEnvelope } = await import('../../src/crypto/envelope.ts');
    await assert.rejects(keys.open(rewrapEnvelope(parseEnvelope(b), a.kekId, a.wrappedKey), cb));
  });

  test('a key file of another data root cannot open the values', async () => {
    const c = ctx();
    const sealed = await keysIn(dataRoot()).seal(PLAINTEXT, c);
    await assert.rejects(keysIn(dataRoot()).open(sealed, c));
  });

  test('the key file is created 0600, tightened back to 0600, not rewritten by reopening, and holds no value', async () => {
    const root = dataRoot();
    const file = join(root, KEYRING_FILE);
    const c = ctx();
    const sealed = await keysIn(root).seal(PLAINTEXT, c);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    chmodSync(file, 0o644);
    const before = readFileSync(file, 'utf8');
    assert.ok((await keysIn(root).open(sealed, c)).equals(PLAINTEXT));
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(readFileSync(file, 'utf8'), before);
    assert.equal(before.includes('correct horse'), false);
  });
});

describe('KEK rotation', () => {
  test('after a rotation new values use the new KEK and old ones still open; a re-wrap keeps the data ciphertext', async () => {
    const keys = keysIn(dataRoot());
    const c = ctx();
    const old = await keys.seal(PLAINTEXT, c);
    await keys.rotateKek();
    assert.equal(keys.currentKeyId(), 'k2');
    assert.deepEqual(keys.keyIds(), ['k1', 'k2']);
    assert.equal(parseEnvelope(await keys.seal(PLAINTEXT, c)).kekId, 'k2');
    assert.ok((await keys.open(old, c)).equals(PLAINTEXT));
    const rewrapped = (await keys.rewrap(old, c, 'unused'))!;
    assert.equal(parseEnvelope(rewrapped).kekId, 'k2');
    assert.deepEqual(parseEnvelope(rewrapped).body, parseEnvelope(old).body);
    assert.ok((await keys.open(rewrapped, c)).equals(PLAINTEXT));
    assert.equal(await keys.rewrap(rewrapped, c, 'unused'), undefined, 'nothing to do for a current value');
  });

  test('retain forgets the old KEKs, durably: a value still under one no longer opens', async () => {
    const root = dataRoot();
    const keys = keysIn(root);
    const c = ctx();
    const old = await keys.seal(PLAINTEXT, c);
    await keys.rotateKek();
    await keys.retain([keys.currentKeyId()]);
    assert.deepEqual(keysIn(root).keyIds(), ['k2']);
    await assert.rejects(keysIn(root).open(old, c));
  });
});

describe('autolock and the unlock key', () => {
  const cases: [input: string, outcome: 'malformed' | 'ok'][] = [
    ['bad', 'malformed'],
    ['', 'malformed'],
    ['SWMKEY-1-!!!', 'malformed'],
    ['SWMKEY-1-aGVsbG8=', 'malformed'],
    ['SWMKEY-1-a', 'malformed'],
    ['SWMKEY-1-', 'ok'],
    ['SWMKEY-1-aGVsbG8', 'ok'],
  ];
  for (const [input, outcome] of cases) {
    test(`parseUnlockKey(${JSON.stringify(input)}) is ${outcome === 'ok' ? 'well formed' : 'invalid key string'} (as dockerd answered)`, () => {
      if (outcome === 'ok') assert.ok(Buffer.isBuffer(parseUnlockKey(input)));
      else assert.throws(() => parseUnlockKey(input), MalformedUnlockKey);
    });
  }

  test('unlock keys print as swarmkit prints them and parse back', () => {
    const key = randomBytes(32);
    const text = formatUnlockKey(key);
    assert.match(text, /^SWMKEY-1-[A-Za-z0-9+/]{43}$/);
    assert.deepEqual(parseUnlockKey(text), key);
  });

  test('autolock stores the key file encrypted; a restart is locked until the right key; off puts it back in the clear (0600)', async () => {
    const root = dataRoot();
    const file = join(root, KEYRING_FILE);
    const keys = keysIn(root);
    const c = ctx();
    const sealed = await keys.seal(PLAINTEXT, c);
    const clearKey = (JSON.parse(readFileSync(file, 'utf8')) as { keys: { key: string }[] }).keys[0]!.key;
    keys.setAutolock(true);
    const unlockKey = keys.unlockKeyText();
    assert.match(unlockKey, /^SWMKEY-1-/);
    assert.equal(readFileSync(file, 'utf8').includes(clearKey), false, 'the KEK is not in the file in the clear');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.ok(Keyring.load(file) instanceof LockedKeyFile);

    const restarted = keysIn(root);
    assert.equal(restarted.locked, true);
    assert.equal(restarted.autolock, true);
    await assert.rejects(restarted.open(sealed, c));
    assert.throws(() => restarted.unlock(formatUnlockKey(randomBytes(32))), WrongUnlockKey);
    assert.throws(() => restarted.unlock('SWMKEY-1-'), WrongUnlockKey);
    assert.throws(() => restarted.unlock('nope'), MalformedUnlockKey);
    assert.equal(restarted.locked, true);
    let told = 0;
    restarted.onUnlock(() => told++);
    restarted.unlock(unlockKey);
    assert.equal(told, 1);
    assert.equal(restarted.locked, false);
    assert.equal(restarted.unlockKeyText(), unlockKey);
    assert.ok((await restarted.open(sealed, c)).equals(PLAINTEXT));

    restarted.rotateUnlockKey();
    const rotated = restarted.unlockKeyText();
    assert.notEqual(rotated, unlockKey);
    assert.throws(() => keysIn(root).unlock(unlockKey), WrongUnlockKey);
    const again = keysIn(root);
    again.unlock(rotated);
    assert.ok((await again.open(sealed, c)).equals(PLAINTEXT));

    again.setAutolock(false);
    assert.equal(again.unlockKeyText(), '');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.ok(readFileSync(file, 'utf8').includes(clearKey));
    assert.equal(keysIn(root).locked, false);
  });

  test('rotating the unlock key while autolock is off does nothing (as swarmkit)', () => {
    const keys = keysIn(dataRoot());
    keys.rotateUnlockKey();
    assert.equal(keys.unlockKeyText(), '');
    assert.equal(keys.autolock, false);
  });

  test('autolock is refused on a shared store and with a key provider module', () => {
    const shared = new KeyService({ file: join(dataRoot(), KEYRING_FILE), shared: true });
    assert.match(shared.autolockRefusal() ?? '', /shared store/);
    assert.throws(() => shared.setAutolock(true), /shared store/);
  });
});

describe('format-1 values of older data roots', () => {
  test('a format-1 key file and values sealed by the old code open, and re-wrap to format 2 under the same KEK', async () => {
    const root = dataRoot();
    const key = randomBytes(32);
    writeFileSync(
      join(root, KEYRING_FILE),
      JSON.stringify({ format: 1, current: 'k1', keys: [{ id: 'k1', key: key.toString('base64'), createdAt: '2024-01-01T00:00:00Z' }] }),
      { mode: 0o600 },
    );
    const id = newId();
    const legacyContext = `secretd/secret/${id}`;
    const old = sealLegacy({ id: 'k1', key }, PLAINTEXT, legacyContext);
    const keys = keysIn(root);
    const c = ctx(id);
    assert.ok((await keys.open(old, c, legacyContext)).equals(PLAINTEXT));
    assert.equal(keys.kekIdOf(old), 'legacy:k1');
    const migrated = (await keys.rewrap(old, c, legacyContext))!;
    assert.equal(migrated[0], FORMAT);
    assert.equal(keys.kekIdOf(migrated), 'k1');
    assert.ok((await keys.open(migrated, c, legacyContext)).equals(PLAINTEXT));
  });
});

describe('key provider modules', () => {
  const good = { kind: 'key-provider', name: 'kms', currentKeyId: () => 'a', wrap: () => ({}), unwrap: () => Buffer.alloc(0) };
  const cases: [title: string, value: unknown, message: RegExp][] = [
    ['not an object', 'x', /must default-export a key provider object/],
    ['a driver instead', { ...good, kind: 'secret' }, /"kind" must be "key-provider"/],
    ['a bad name', { ...good, name: '-x' }, /"name" must be/],
    ['no wrap', { ...good, wrap: undefined }, /must have a "wrap" function/],
    ['rotate not a function', { ...good, rotate: 1 }, /"rotate" must be a function/],
  ];
  for (const [title, value, message] of cases) {
    test(`a key provider module is refused, naming it: ${title}`, () => {
      assert.throws(
        () => checkKeyProvider(value, 'my-kms.ts'),
        (e: Error) => e.message.startsWith('key provider my-kms.ts: ') && message.test(e.message),
      );
    });
  }

  test('a well-formed key provider module is accepted', () => {
    assert.equal(checkKeyProvider(good, 'my-kms.ts'), good);
  });
});
