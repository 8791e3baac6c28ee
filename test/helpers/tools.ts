/** Detects the real components e2e tests use; each returns a skip reason, or false when present. */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

function runs(cmd: string, args: string[]): boolean {
  const r = spawnSync(cmd, args, { stdio: 'ignore', timeout: 20_000 });
  return r.status === 0;
}

/** The docker CLI (Debian's docker.io or any other). */
export function dockerCliMissing(): string | false {
  return runs('docker', ['--version']) ? false : 'the docker CLI is not installed (apt-get install docker.io)';
}

/** Debian's python3-docker (docker-py) under the system python. */
export const SYSTEM_PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
export function dockerPyMissing(): string | false {
  return runs(SYSTEM_PYTHON, ['-c', 'import docker'])
    ? false
    : `docker-py is not importable by ${SYSTEM_PYTHON} (apt-get install python3-docker)`;
}

/** A reference dockerd: REF_DOCKER_HOST, or the socket start-reference-dockerd.sh uses. */
export function referenceDockerd(): { host: string } | { skip: string } {
  const host = process.env.REF_DOCKER_HOST ?? 'unix:///tmp/dockerd/docker.sock';
  if (!host.startsWith('unix://') || !existsSync(host.slice(7))) {
    return { skip: `no reference dockerd at ${host} (run ../shared/conformance/start-reference-dockerd.sh as root, or set REF_DOCKER_HOST)` };
  }
  return runs('docker', ['-H', host, 'version']) ? { host } : { skip: `the reference dockerd at ${host} does not answer` };
}
