/**
 * TLS for the client commands, from the environment the docker CLI reads: DOCKER_TLS_VERIFY
 * (any non-empty value: TLS, and the daemon's certificate must be signed by DOCKER_CERT_PATH/ca.pem
 * and name the host dialled), DOCKER_TLS (any non-empty value: TLS without checking the daemon),
 * DOCKER_CERT_PATH (default $DOCKER_CONFIG, else ~/.docker), whose cert.pem and key.pem, when
 * present, are the client certificate. Applies to tcp:// hosts only.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { RequestOptions } from 'node:https';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { defaultCertDir } from '../daemon/paths.ts';

/** Options for https.request, or undefined for plain HTTP. Throws an Error naming an unreadable file. */
export function clientTlsFromEnv(env: NodeJS.ProcessEnv = process.env): RequestOptions | undefined {
  const verify = Boolean(env.DOCKER_TLS_VERIFY);
  if (!verify && !env.DOCKER_TLS) return undefined;
  const dir = defaultCertDir({ uid: 0, env, home: homedir() });
  const options: RequestOptions = { minVersion: 'TLSv1.2', rejectUnauthorized: verify };
  if (verify) options.ca = read(join(dir, 'ca.pem'), 'the CA certificate');
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  // As the docker CLI: a missing default client certificate means connecting without one.
  if (existsSync(cert) || existsSync(key)) {
    options.cert = read(cert, 'the client certificate');
    options.key = read(key, "the client certificate's key");
  }
  return options;
}

function read(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new Error(`cannot read ${what} ${file} (DOCKER_CERT_PATH): ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}
