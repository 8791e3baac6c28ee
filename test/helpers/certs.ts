/**
 * Test certificates made with the openssl CLI, as the README's recipe makes them: a CA, a server
 * certificate for localhost and 127.0.0.1, a client certificate the CA signed, and a client
 * certificate signed by another CA. Each client gets a folder laid out as DOCKER_CERT_PATH
 * expects (ca.pem, cert.pem, key.pem). EC P-256 keys: quick to make on a busy machine.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, copyFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCerts {
  dir: string;
  /** The CA that signs the server and the good client. */
  ca: string;
  serverCert: string;
  serverKey: string;
  /** DOCKER_CERT_PATH folders: a client the CA signed (subject CN=alice, O=secretd-tests), and one another CA signed. */
  goodClient: string;
  strangerClient: string;
  /** A folder with the CA alone: TLS, server checked, no client certificate. */
  caOnly: string;
}

function openssl(cwd: string, args: string[]): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

const KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function makeCa(dir: string, name: string, subject: string): void {
  openssl(dir, [
    'req',
    '-x509',
    ...KEY,
    '-keyout',
    `${name}-key.pem`,
    '-out',
    `${name}.pem`,
    '-days',
    '2',
    '-subj',
    subject,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
}

function makeLeaf(dir: string, name: string, ca: string, subject: string, ext: string): void {
  writeFileSync(join(dir, `${name}.ext`), ext);
  openssl(dir, ['req', ...KEY, '-keyout', `${name}-key.pem`, '-out', `${name}.csr`, '-subj', subject]);
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${ca}.pem`,
    '-CAkey',
    `${ca}-key.pem`,
    '-CAcreateserial',
    '-out',
    `${name}-cert.pem`,
    '-days',
    '2',
    '-extfile',
    `${name}.ext`,
  ]);
}

function certPath(dir: string, name: string, files: Record<string, string>): string {
  const folder = join(dir, name);
  mkdirSync(folder);
  for (const [as, from] of Object.entries(files)) copyFileSync(join(dir, from), join(folder, as));
  return folder;
}

export function makeTestCerts(): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), 'secretd-certs-'));
  makeCa(dir, 'ca', '/CN=secretd test CA');
  makeCa(dir, 'other-ca', '/CN=some other CA');
  makeLeaf(dir, 'server', 'ca', '/CN=localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  makeLeaf(dir, 'client', 'ca', '/O=secretd-tests/CN=alice', 'extendedKeyUsage=clientAuth\n');
  makeLeaf(dir, 'stranger', 'other-ca', '/CN=mallory', 'extendedKeyUsage=clientAuth\n');
  return {
    dir,
    ca: join(dir, 'ca.pem'),
    serverCert: join(dir, 'server-cert.pem'),
    serverKey: join(dir, 'server-key.pem'),
    goodClient: certPath(dir, 'good-client', { 'ca.pem': 'ca.pem', 'cert.pem': 'client-cert.pem', 'key.pem': 'client-key.pem' }),
    // The stranger trusts our CA for the server; only its own certificate comes from elsewhere.
    strangerClient: certPath(dir, 'stranger-client', { 'ca.pem': 'ca.pem', 'cert.pem': 'stranger-cert.pem', 'key.pem': 'stranger-key.pem' }),
    caOnly: certPath(dir, 'ca-only', { 'ca.pem': 'ca.pem' }),
  };
}
