/**
 * Default socket and data locations, following rootless Docker: $XDG_RUNTIME_DIR and
 * $XDG_DATA_HOME for a user (with the XDG fallbacks), /run and /var/lib for root.
 */
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';

/** The files a flag names when it is not given: in the data root, and in the TLS folder (dockerd's names). */
export const IN_DATA_ROOT = { keyring: 'keyring.json', auditLog: 'audit.log' } as const;
export const IN_CERT_DIR = { ca: 'ca.pem', cert: 'cert.pem', key: 'key.pem' } as const;

export interface Env {
  uid: number;
  env: NodeJS.ProcessEnv;
  home: string;
}

const current = (): Env => ({ uid: process.getuid?.() ?? 0, env: process.env, home: homedir() });

export function defaultHost(e: Env = current()): string {
  if (e.uid === 0) return 'unix:///run/secretd.sock';
  const runtime = e.env.XDG_RUNTIME_DIR || join(tmpdir(), `secretd-${e.uid}`);
  return `unix://${join(runtime, 'secretd.sock')}`;
}

export function defaultDataRoot(e: Env = current()): string {
  if (e.uid === 0) return '/var/lib/secretd';
  return join(e.env.XDG_DATA_HOME || join(e.home, '.local', 'share'), 'secretd');
}

/**
 * Where TLS files are looked for when no flag names them, as dockerd and the docker CLI do:
 * $DOCKER_CERT_PATH, else $DOCKER_CONFIG, else ~/.docker (ca.pem, cert.pem, key.pem in it).
 */
export function defaultCertDir(e: Env = current()): string {
  return e.env.DOCKER_CERT_PATH || e.env.DOCKER_CONFIG || join(e.home, '.docker');
}
