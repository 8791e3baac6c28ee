/**
 * A second reference dockerd for the plugin tests, started with the shared script in its own
 * folder and swarm port (PLUGIN_REF_DOCKERD_DIR, default /tmp/dockerd-plugin; PLUGIN_REF_SWARM_PORT,
 * default 2477) so that the services, volumes and stacks these tests make never touch the shared
 * one; and a one-binary image from Debian's busybox-static imported into it.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { docker } from './cli.ts';
import { dockerCliMissing, fileMissing, missing } from './tools.ts';

const START_SCRIPT = '/work/shared/conformance/start-reference-dockerd.sh';
/** Stops it and wipes its state, mounts included (also run by .ci/run before the tests). */
const RESET_SCRIPT = fileURLToPath(new URL('reset-private-dockerd.sh', import.meta.url));

/** The private dockerd's DOCKER_HOST, started if it is not running; or why it cannot be. */
export function privateDockerd(): { host: string } | { skip: string } {
  const cli = dockerCliMissing();
  if (cli) return { skip: cli };
  if (process.getuid?.() !== 0) return { skip: missing('the plugin tests need root (dockerd and its plugin folder /run/docker/plugins do)') as string };
  const noScript = fileMissing(START_SCRIPT, 'the shared conformance folder');
  if (noScript) return { skip: noScript };
  const dir = process.env.PLUGIN_REF_DOCKERD_DIR ?? '/tmp/dockerd-plugin';
  const env = { ...process.env, REF_DOCKERD_DIR: dir, REF_SWARM_PORT: process.env.PLUGIN_REF_SWARM_PORT ?? '2477' };
  const start = () => spawnSync('bash', [START_SCRIPT], { env, encoding: 'utf8', timeout: 240_000 });
  let r = start();
  if (r.status === 0 && leftFromEarlierRuns(`unix://${dir}/docker.sock`)) {
    // Volumes of plugins that are gone (an earlier run's secretd, killed or crashed before its
    // clean-up) make dockerd retry each of them on every volume listing, so that a `docker-compose
    // down` times out: start this private dockerd afresh instead.
    const reset = spawnSync('bash', [RESET_SCRIPT], { env: { ...process.env, PLUGIN_REF_DOCKERD_DIR: dir }, encoding: 'utf8', timeout: 120_000 });
    if (reset.status !== 0) return { skip: missing(`the private reference dockerd could not be reset: ${reset.stderr.slice(-500)}`) as string };
    r = start();
  }
  const socket = r.stdout.trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !socket.startsWith('/')) return { skip: missing(`the private reference dockerd did not start: ${r.stderr.slice(-500)}`) as string };
  return { host: `unix://${socket}` };
}

/** True when the dockerd at `host` holds volumes of a secretd plugin whose socket is gone. */
function leftFromEarlierRuns(host: string): boolean {
  const r = docker(host, ['volume', 'ls', '--format', '{{.Driver}}']);
  if (r.status !== 0) return false;
  return r.stdout
    .split('\n')
    .filter((driver) => driver.startsWith('secretd-'))
    .some((driver) => !existsSync(join('/run/docker/plugins', `${driver}.sock`)));
}

/** The commands the test containers run. */
const APPLETS = ['sh', 'cat', 'cp', 'ls', 'sleep', 'stat', 'grep', 'touch'];

/** `secretd-busybox:plugin`, imported once from /bin/busybox (Debian's busybox-static). */
export function busyboxImage(host: string): { tag: string } | { skip: string } {
  const tag = 'secretd-busybox:plugin';
  if (docker(host, ['image', 'inspect', tag]).status === 0) return { tag };
  const noBusybox = fileMissing('/bin/busybox', 'apt-get install busybox-static');
  if (noBusybox) return { skip: noBusybox };
  const dir = mkdtempSync(join(tmpdir(), 'secretd-busybox-'));
  try {
    mkdirSync(join(dir, 'rootfs', 'bin'), { recursive: true });
    copyFileSync('/bin/busybox', join(dir, 'rootfs', 'bin', 'busybox'));
    for (const applet of APPLETS) symlinkSync('busybox', join(dir, 'rootfs', 'bin', applet));
    const tar = join(dir, 'rootfs.tar');
    const t = spawnSync('tar', ['-C', join(dir, 'rootfs'), '-cf', tar, '.']);
    if (t.status !== 0) return { skip: `tar failed: ${t.stderr}` };
    const r = docker(host, ['import', tar, tag]);
    return r.status === 0 && existsSync(tar) ? { tag } : { skip: `docker import failed: ${r.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Polls `probe` until it returns a value other than undefined, or fails after `ms` saying `what`. */
export async function until<T>(probe: () => T | undefined, ms: number, what: () => string): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const got = probe();
    if (got !== undefined) return got;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
