/** The client commands read TLS settings from the environment as the docker CLI does (src/cli/tls-env.ts). */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Client } from '../../src/cli/client.ts';
import { clientTlsFromEnv } from '../../src/cli/tls-env.ts';

const dir = mkdtempSync(join(tmpdir(), 'secretd-tls-env-'));
after(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, 'ca.pem'), 'CA');
const full = mkdtempSync(join(dir, 'full-'));
for (const f of ['ca.pem', 'cert.pem', 'key.pem']) writeFileSync(join(full, f), f);

test('no DOCKER_TLS_VERIFY and no DOCKER_TLS: plain HTTP', () => {
  assert.equal(clientTlsFromEnv({ DOCKER_CERT_PATH: full }), undefined);
  assert.equal(clientTlsFromEnv({ DOCKER_TLS_VERIFY: '' }), undefined);
});

test('DOCKER_TLS_VERIFY (any non-empty value, even 0): TLS, the daemon checked against ca.pem, cert.pem and key.pem sent', () => {
  const opts = clientTlsFromEnv({ DOCKER_TLS_VERIFY: '0', DOCKER_CERT_PATH: full });
  assert.equal(opts?.rejectUnauthorized, true);
  assert.equal(String(opts?.ca), 'ca.pem');
  assert.equal(String(opts?.cert), 'cert.pem');
  assert.equal(String(opts?.key), 'key.pem');
  assert.equal(opts?.minVersion, 'TLSv1.2');
});

test('DOCKER_TLS alone: TLS without checking the daemon; no client certificate when the folder has none', () => {
  const opts = clientTlsFromEnv({ DOCKER_TLS: '1', DOCKER_CERT_PATH: dir });
  assert.equal(opts?.rejectUnauthorized, false);
  assert.equal(opts?.ca, undefined);
  assert.equal(opts?.cert, undefined);
});

test('DOCKER_CERT_PATH defaults to $DOCKER_CONFIG; a missing ca.pem is an error naming it', () => {
  assert.equal(String(clientTlsFromEnv({ DOCKER_TLS_VERIFY: '1', DOCKER_CONFIG: full })?.cert), 'cert.pem');
  const empty = mkdtempSync(join(dir, 'empty-'));
  assert.throws(
    () => clientTlsFromEnv({ DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: empty }),
    new RegExp(`cannot read the CA certificate ${join(empty, 'ca.pem')}`),
  );
  const half = mkdtempSync(join(dir, 'half-'));
  copyFileSync(join(full, 'cert.pem'), join(half, 'cert.pem'));
  assert.throws(() => clientTlsFromEnv({ DOCKER_TLS: '1', DOCKER_CERT_PATH: half }), /cannot read the client certificate's key/);
});

test('a unix socket host ignores the TLS environment', () => {
  assert.doesNotThrow(() => new Client('unix:///run/secretd.sock', { DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: join(dir, 'absent') }));
  assert.throws(() => new Client('tcp://127.0.0.1:2376', { DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: join(dir, 'absent') }), /cannot read the CA certificate/);
});
