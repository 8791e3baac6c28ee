/** The console's typed-secret encoders: exact stored bytes, and every refusal worded for the page. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { encodeBasicAuth } from '../../src/ui/basic-auth.ts';
import { specFromForm } from '../../src/ui/encode.ts';
import { FormError } from '../../src/ui/form-error.ts';
import { encodeKeyValue } from '../../src/ui/key-value.ts';
import { parsePairs } from '../../src/ui/pairs.ts';
import { encodeRegistryAuth } from '../../src/ui/registry.ts';
import { encodeTls } from '../../src/ui/tls.ts';

const dir = mkdtempSync(join(tmpdir(), 'secretd-ui-tls-'));
const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
const read = (f: string) => readFileSync(join(dir, f), 'utf8');
const refused = (fn: () => unknown, message: RegExp) => assert.throws(fn, (e: unknown) => e instanceof FormError && message.test(e.message));

/** A self-signed certificate for `key`, made by the openssl CLI. */
function selfSigned(key: string, out: string, cn: string): void {
  openssl('req', '-new', '-x509', '-key', key, '-out', out, '-days', '2', '-subj', `/CN=${cn}`);
}

describe('TLS secrets', () => {
  before(() => {
    openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'ec.key');
    openssl('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', 'rsa.key');
    openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'other.key');
    openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-aes256', '-pass', 'pass:pw', '-out', 'encrypted.key');
    openssl('rsa', '-in', 'rsa.key', '-traditional', '-out', 'rsa-traditional.key');
    selfSigned('ec.key', 'ec.crt', 'ec.example');
    selfSigned('rsa.key', 'rsa.crt', 'rsa.example');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('a matching pair is stored as the certificate block, then the key block, each ending in a newline', () => {
    for (const [crt, key] of [
      ['ec.crt', 'ec.key'],
      ['rsa.crt', 'rsa.key'],
      ['rsa.crt', 'rsa-traditional.key'],
    ] as const) {
      assert.equal(encodeTls(read(crt), read(key)), `${read(crt).trim()}\n${read(key).trim()}\n`, `${crt} + ${key}`);
    }
  });

  test('a chain keeps its order, and CRLF line ends and text around the blocks are dropped', () => {
    const chain = `subject=CN = ec.example\r\n${read('ec.crt').replace(/\n/g, '\r\n')}${read('rsa.crt')}`;
    assert.equal(encodeTls(chain, read('ec.key')), `${read('ec.crt').trim()}\n${read('rsa.crt').trim()}\n${read('ec.key').trim()}\n`);
  });

  test('a key that belongs to another certificate is refused, of the same or of another type', () => {
    refused(() => encodeTls(read('ec.crt'), read('other.key')), /^the private key does not match the certificate$/);
    refused(() => encodeTls(read('ec.crt'), read('rsa.key')), /^the private key does not match the certificate$/);
  });

  test('text that is not PEM, or a PEM block that does not parse, is refused with what is wrong', () => {
    refused(() => encodeTls('hello', read('ec.key')), /^the certificate is not PEM/);
    refused(
      () => encodeTls('-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n', read('ec.key')),
      /^the certificate is not a valid PEM certificate$/,
    );
    refused(() => encodeTls(`${read('ec.crt')}-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n`, read('ec.key')), /^certificate 2 of the chain/);
    refused(() => encodeTls(read('ec.crt') + read('ec.key'), read('ec.key')), /holds a "PRIVATE KEY" block/);
    refused(() => encodeTls(read('ec.crt'), 'no key here'), /^the key is not PEM/);
    refused(() => encodeTls(read('ec.crt'), read('ec.crt')), /holds a "CERTIFICATE" block, not a private key/);
    refused(() => encodeTls(read('ec.crt'), '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n'), /^the key is not a valid PEM private key$/);
    refused(() => encodeTls(read('ec.crt'), read('ec.key') + read('other.key')), /exactly one PEM block/);
    refused(() => encodeTls(read('ec.crt'), read('encrypted.key')), /^the key is encrypted/);
  });
});

describe('registry credentials and basic auth', () => {
  test('registry credentials are a .dockerconfigjson document with auth = base64(user:password)', () => {
    const doc = encodeRegistryAuth(' registry.example.com:5000 ', 'ci-bot', 'pä:ss');
    assert.equal(
      doc,
      JSON.stringify({
        auths: { 'registry.example.com:5000': { username: 'ci-bot', password: 'pä:ss', auth: Buffer.from('ci-bot:pä:ss').toString('base64') } },
      }),
    );
  });

  test('registry credentials need a registry, a user without ":" and a password', () => {
    refused(() => encodeRegistryAuth('', 'u', 'p'), /^the registry is missing/);
    refused(() => encodeRegistryAuth('a b', 'u', 'p'), /spaces/);
    refused(() => encodeRegistryAuth('r', 'u:x', 'p'), /must not contain ":"/);
    refused(() => encodeRegistryAuth('r', '', 'p'), /username is missing/);
    refused(() => encodeRegistryAuth('r', 'u', ''), /password is missing/);
  });

  test('basic auth is {"username","password"}; a ":" or a control character in the user is refused', () => {
    assert.equal(encodeBasicAuth('admin', 'a "quoted" pass'), '{"username":"admin","password":"a \\"quoted\\" pass"}');
    refused(() => encodeBasicAuth('ad:min', 'p'), /RFC 7617/);
    refused(() => encodeBasicAuth('ad\nmin', 'p'), /control characters/);
    refused(() => encodeBasicAuth('admin', ''), /password is missing/);
  });
});

describe('KEY=VALUE lines', () => {
  test('pairs keep their order, split at the first "=", and a bare key has an empty value', () => {
    assert.deepEqual(Object.entries(parsePairs('b=2\r\n\n  a = x=y\nflag', 'labels')), [
      ['b', '2'],
      ['a', ' x=y'],
      ['flag', ''],
    ]);
    assert.equal(encodeKeyValue('user=app\nport=5432'), '{"user":"app","port":"5432"}');
  });

  test('"__proto__" is an ordinary key', () => {
    assert.equal(encodeKeyValue('__proto__=x'), '{"__proto__":"x"}');
  });

  test('a key given twice, a missing key, or no pairs at all are refused', () => {
    refused(() => parsePairs('a=1\na=2', 'labels'), /^labels: the key "a" is given twice$/);
    refused(() => parsePairs('a=1\n=2', 'labels'), /^labels, line 2: a key is missing/);
    refused(() => encodeKeyValue('\n\n'), /at least one/);
  });
});

describe('the create form as a SecretSpec', () => {
  const form = (o: Record<string, string | File>) => new Map(Object.entries(o));

  test('a typed kind adds its type label; the value is base64 in Data; driver options become Options', async () => {
    const spec = await specFromForm(
      form({ kind: 'basic-auth', name: ' web ', labels: 'env=prod', username: 'u', password: 'p', driver: '', templating: 'golang' }),
    );
    assert.deepEqual(spec, {
      Name: 'web',
      Labels: { env: 'prod', 'com.secretd.type': 'basic-auth' },
      Data: Buffer.from('{"username":"u","password":"p"}').toString('base64'),
      Templating: { Name: 'golang' },
    });
    const driven = await specFromForm(form({ kind: 'text', name: 'x', value: '', driver: 'env', driver_options: 'name=API_KEY' }));
    assert.deepEqual(driven, { Name: 'x', Labels: {}, Driver: { Name: 'env', Options: { name: 'API_KEY' } } });
  });

  test('an uploaded file is stored byte for byte; an empty upload is refused unless a driver supplies the value', async () => {
    const bytes = new Uint8Array([0, 255, 10, 13]);
    const spec = await specFromForm(form({ kind: 'file', name: 'f', file: new File([bytes], 'f.bin') }));
    assert.equal(spec.Data, Buffer.from(bytes).toString('base64'));
    await assert.rejects(specFromForm(form({ kind: 'file', name: 'f', file: new File([], 'empty') })), /choose a file/);
  });
});
