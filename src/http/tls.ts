/**
 * TLS for tcp:// listeners, with dockerd's settings: TLS 1.2 or later, ECDHE with AEAD ciphers
 * only, and with --tlsverify a client certificate signed by the given CA and by nothing else
 * (the system's roots play no part). Files are read once, at start; a missing or malformed one
 * stops the start with a message naming the flag and the file.
 */
import { readFileSync } from 'node:fs';
import type { ServerOptions } from 'node:https';
import { createSecureContext } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { StartupError } from '../core/errors.ts';

export interface TlsFiles {
  /** Require and verify a client certificate (--tlsverify). */
  verify: boolean;
  ca: string;
  cert: string;
  key: string;
}

export class TlsConfigError extends StartupError {}

/**
 * go-connections' default suites for TLS 1.2 (what dockerd accepts), plus TLS 1.3's; without a
 * TLS_ suite in the list Node would not offer TLS 1.3 at all.
 */
const CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

/** Reads and checks the files; the result is handed to https.createServer. */
export function serverTlsOptions(files: TlsFiles): ServerOptions {
  const cert = read('--tlscert', files.cert);
  const key = read('--tlskey', files.key);
  certificate('--tlscert', files.cert, cert);
  const options: ServerOptions = { cert, key, minVersion: 'TLSv1.2', ciphers: CIPHERS };
  if (files.verify) {
    const ca = read('--tlscacert', files.ca);
    certificate('--tlscacert', files.ca, ca);
    Object.assign(options, { ca, requestCert: true, rejectUnauthorized: true });
  }
  try {
    createSecureContext(options);
  } catch (e) {
    throw new TlsConfigError(`--tlscert ${files.cert} with --tlskey ${files.key}: ${(e as Error).message}`);
  }
  return options;
}

function read(flag: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'ENOENT' ? 'no such file' : err.code === 'EACCES' ? 'permission denied' : err.message;
    throw new TlsConfigError(`${flag} ${file}: cannot read it (${why})`);
  }
}

function certificate(flag: string, file: string, pem: Buffer): void {
  try {
    new X509Certificate(pem);
  } catch {
    throw new TlsConfigError(`${flag} ${file}: not a PEM certificate`);
  }
}
