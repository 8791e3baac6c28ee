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
import { docker } from './cli.ts';
import { dockerCliMissing, fileMissing, missing } from './tools.ts';

const START_SCRIPT = '/work/shared/conformance/start-reference-dockerd.sh';

/** The private dockerd's DOCKER_HOST, started if it is not running; or why it cannot be. */
export function privateDockerd(): { host: string } | { skip: string } {
  const cli = dockerCliMissing();
  if (cli) return { skip: cli };
  if (process.getuid?.() !== 0) return { skip: missing('the plugin tests need root (dockerd and its plugin folder /run/docker/plugins do)') as string };
  const noScript = fileMissing(START_SCRIPT, 'the shared conformance folder');
  if (noScript) return { skip: noScript };
  const env = {
    ...process.env,
    REF_DOCKERD_DIR: process.env.PLUGIN_REF_DOCKERD_DIR ?? '/tmp/dockerd-plugin',
    REF_SWARM_PORT: process.env.PLUGIN_REF_SWARM_PORT ?? '2477',
  };
  const r = spawnSync('bash', [START_SCRIPT], { env, encoding: 'utf8', timeout: 240_000 });
  const socket = r.stdout.trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !socket.startsWith('/')) return { skip: missing(`the private reference dockerd did not start: ${r.stderr.slice(-500)}`) as string };
  return { host: `unix://${socket}` };
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
