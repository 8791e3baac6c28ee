/**
 * Detects the real components e2e tests use; each returns a skip reason, or false when present.
 * Every reason goes through `missing()`: with CI set, a missing component is a failing test that
 * names its package (a broken install step must not land green); without CI it stays a skip, and
 * `test/run.mjs` ends the run with one line naming what was skipped and how to install it all.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync } from 'node:fs';
import { test } from 'node:test';

const reported = new Set<string>();

/** The gate every skip reason for a missing component passes: see the module header. */
export function missing(reason: string | false | undefined): string | false {
  if (!reason) return false;
  if (reported.has(reason)) return reason;
  reported.add(reason);
  if (process.env.CI) {
    test(`a component the tests need is installed: ${reason}`, () => {
      throw new Error(`missing under CI: ${reason}. Install everything with: npm run setup`);
    });
  } else if (process.env.SECRETD_SKIP_LOG) {
    appendFileSync(process.env.SECRETD_SKIP_LOG, `${reason}\n`);
  }
  return reason;
}

function runs(cmd: string, args: string[]): boolean {
  const r = spawnSync(cmd, args, { stdio: 'ignore', timeout: 20_000 });
  return r.status === 0;
}

/** The docker CLI (Debian's docker.io or any other). */
export function dockerCliMissing(): string | false {
  return runs('docker', ['--version']) ? false : missing('the docker CLI is not installed (apt-get install docker.io)');
}

/** Debian's python3-docker (docker-py) under the system python. */
export const SYSTEM_PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
export function dockerPyMissing(): string | false {
  return runs(SYSTEM_PYTHON, ['-c', 'import docker']) ? false : missing(`docker-py is not importable by ${SYSTEM_PYTHON} (apt-get install python3-docker)`);
}

/** A reference dockerd: REF_DOCKER_HOST, or the socket start-reference-dockerd.sh uses. */
export function referenceDockerd(): { host: string } | { skip: string } {
  const host = process.env.REF_DOCKER_HOST ?? 'unix:///tmp/dockerd/docker.sock';
  const why =
    !host.startsWith('unix://') || !existsSync(host.slice(7))
      ? `no reference dockerd at ${host} (run ../shared/conformance/start-reference-dockerd.sh as root, or set REF_DOCKER_HOST)`
      : runs('docker', ['-H', host, 'version'])
        ? false
        : `the reference dockerd at ${host} does not answer`;
  return why ? { skip: missing(why) as string } : { host };
}

/** A skip reason when `cmd` is not on PATH (`pkg` is the Debian package that has it). */
export function commandMissing(cmds: string[], pkg: string): string | false {
  const absent = cmds.filter((c) => spawnSync('sh', ['-c', `command -v ${c}`], { stdio: 'ignore' }).status !== 0);
  return absent.length > 0 ? missing(`not installed: ${absent.join(', ')} (apt-get install ${pkg})`) : false;
}

/** A skip reason when a file a test needs is absent (`fix` says how to get it). */
export function fileMissing(path: string, fix: string): string | false {
  return existsSync(path) ? false : missing(`${path} is missing (${fix})`);
}
