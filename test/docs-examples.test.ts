/**
 * Every shell block of README.md and docs/ runs, as a user pasting them would: one file at a
 * time, its blocks in order, in a fresh scratch folder with a scratch HOME, XDG_RUNTIME_DIR and
 * XDG_DATA_HOME (as root, as `nobody`, so `npm start` takes a normal user's paths), against the
 * daemons the text starts. The `<!-- docs-test: … -->` convention is in docs/development.md.
 *
 * A block runs under `bash -euo pipefail`; like one terminal, the folder it ends in and the
 * variables it exports carry over to the next block. `secretd` on the PATH is the checkout's
 * bin/secretd.mjs (what `npm install -g` installs; test/e2e/install.test.ts checks the install);
 * `npm` runs as it does in the checkout, with `npm install` a dry run (node_modules is left alone).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { PROJECT_ROOT } from './helpers/daemon.ts';
import { codeBlocks, SHELL_LANGS, type Block } from './helpers/doc-blocks.ts';
import { docFiles } from './helpers/docs.ts';
import { request } from './helpers/http.ts';

const NOBODY = 65534;
const asRoot = process.getuid?.() === 0;
const BLOCK_TIMEOUT_MS = 120_000;
const READY_TIMEOUT_MS = 60_000;

/** `which NAME`, or undefined. */
function which(name: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

const NPM = which('npm');

interface Running {
  proc: ChildProcess;
  block: Block;
  log: string;
  exited: Promise<number | null>;
}

/** One doc file's run: its scratch folder, its environment and the daemons it started. */
class Session {
  readonly root = mkdtempSync(join(tmpdir(), 'secretd-docs-'));
  readonly work = join(this.root, 'work');
  readonly state = join(this.root, 'state');
  readonly logs = join(this.root, 'logs');
  private readonly background: Running[] = [];
  private count = 0;
  readonly env: NodeJS.ProcessEnv;

  readonly file: string;
  constructor(file: string) {
    this.file = file;
    const home = join(this.root, 'home');
    const run = join(this.root, 'run');
    const bin = join(this.root, 'bin');
    for (const d of [this.work, this.state, this.logs, home, run, bin, join(this.root, 'data-home')]) mkdirSync(d);
    chmodSync(run, 0o700);
    writeFileSync(join(bin, 'secretd'), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(join(PROJECT_ROOT, 'bin/secretd.mjs'))} "$@"\n`, {
      mode: 0o755,
    });
    if (NPM) writeFileSync(join(bin, 'npm'), `#!/bin/sh\nexec ${JSON.stringify(NPM)} --prefix ${JSON.stringify(PROJECT_ROOT)} "$@"\n`, { mode: 0o755 });
    writeFileSync(join(this.state, 'cwd'), this.work);
    writeFileSync(join(this.state, 'env'), '');
    // A clean environment, as a new login shell: nothing of the test runner's DOCKER_*, npm_* or INIT_CWD.
    this.env = {
      PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`,
      HOME: home,
      USER: asRoot ? 'nobody' : process.env.USER,
      XDG_RUNTIME_DIR: run,
      XDG_DATA_HOME: join(this.root, 'data-home'),
      LANG: 'C.UTF-8',
      TERM: 'dumb',
      npm_config_dry_run: 'true',
      npm_config_update_notifier: 'false',
      npm_config_fund: 'false',
      npm_config_audit: 'false',
    };
    if (asRoot) spawnSync('chown', ['-R', `${NOBODY}:${NOBODY}`, this.root]);
  }

  /** The script for a block: the previous block's folder and exports, the block, then saving them. */
  private script(block: Block, save: boolean): string {
    const s = JSON.stringify(this.state);
    const saveState = save ? `\npwd > ${s}/cwd\nexport -p > ${s}/env\n` : '\n';
    return `source ${s}/env\ncd "$(cat ${s}/cwd)"\n${block.body}${saveState}`;
  }

  private spawn(block: Block, save: boolean): Running {
    const log = join(this.logs, `${++this.count}.log`);
    const fd = openSync(log, 'w');
    const argv = ['bash', '--noprofile', '--norc', '-euo', 'pipefail', '-c', this.script(block, save)];
    const [cmd, ...args] = asRoot ? ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '--', ...argv] : argv;
    const proc = spawn(cmd!, args, { cwd: this.work, env: this.env, detached: true, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    const exited = new Promise<number | null>((resolve) => proc.on('exit', (code, signal) => resolve(signal ? 128 : code)));
    return { proc, block, log, exited };
  }

  output(r: Running): string {
    return readFileSync(r.log, 'utf8');
  }

  /** Runs a block to its end; a non-zero exit fails with the block and what it printed. */
  async run(block: Block): Promise<void> {
    const r = this.spawn(block, true);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), BLOCK_TIMEOUT_MS)));
    const code = await Promise.race([r.exited, timedOut]);
    clearTimeout(timer);
    killGroup(r.proc, 'SIGKILL'); // whatever it left running in its own group
    if (code !== 0) assert.fail(this.failure(block, code === 'timeout' ? `did not finish in ${BLOCK_TIMEOUT_MS / 1000} s` : `exited ${code}`, this.output(r)));
  }

  /** Starts a block in the background and waits until each of the `daemons` DOCKER_HOSTs it prints answers /_ping. */
  async start(block: Block, daemons: number): Promise<void> {
    const r = this.spawn(block, false);
    this.background.push(r);
    const deadline = Date.now() + READY_TIMEOUT_MS;
    let exitCode: number | null | undefined;
    void r.exited.then((c) => (exitCode = c));
    while (Date.now() < deadline) {
      const hosts = [...new Set([...this.output(r).matchAll(/^\s*export DOCKER_HOST=(\S+)$/gm)].map((m) => m[1]!))];
      if (hosts.length >= daemons) {
        const answers = await Promise.all(
          hosts.map((h) =>
            request(h, { path: '/_ping' }).then(
              (res) => res.status === 200,
              () => false,
            ),
          ),
        );
        if (answers.every(Boolean)) {
          writeFileSync(join(this.state, 'env'), `${readFileSync(join(this.state, 'env'), 'utf8')}export DOCKER_HOST=${hosts[0]}\n`);
          return;
        }
      }
      if (exitCode !== undefined) assert.fail(this.failure(block, `stopped (exit ${exitCode}) before ${daemons} daemon(s) answered`, this.output(r)));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.fail(this.failure(block, `${daemons} daemon(s) did not answer /_ping within ${READY_TIMEOUT_MS / 1000} s`, this.output(r)));
  }

  /** SIGTERM to every background group, as Ctrl-C in their terminals; SIGKILL past a deadline. */
  async stopAll(): Promise<void> {
    const all = this.background.splice(0);
    for (const r of all) killGroup(r.proc, 'SIGTERM');
    const deadline = Date.now() + 20_000;
    for (const r of all) {
      while (groupAlive(r.proc) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      killGroup(r.proc, 'SIGKILL');
    }
  }

  failure(block: Block, what: string, output: string): string {
    const others = this.background
      .filter((b) => b.block !== block)
      .map((b) => `--- output of the background block at line ${b.block.line} ---\n${tail(this.output(b))}`);
    return [`${this.file}:${block.line}: the block ${what}`, '--- block ---', block.body.trimEnd(), '--- output ---', tail(output), ...others].join('\n');
  }

  writeFile(name: string, body: string): void {
    const cwd = readFileSync(join(this.state, 'cwd'), 'utf8').trim();
    const path = join(cwd, name);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, body);
    if (asRoot) spawnSync('chown', ['-R', `${NOBODY}:${NOBODY}`, cwd]);
  }

  async dispose(): Promise<void> {
    await this.stopAll();
    rmSync(this.root, { recursive: true, force: true });
  }
}

function tail(text: string): string {
  const lines = text.trimEnd().split('\n');
  return lines.slice(-40).join('\n');
}

function killGroup(proc: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-proc.pid!, signal);
  } catch {
    // the group is gone
  }
}

function groupAlive(proc: ChildProcess): boolean {
  try {
    process.kill(-proc.pid!, 0);
    return true;
  } catch {
    return false;
  }
}

/** Why the blocks cannot run here at all, or false. */
function cannotRun(): string | false {
  if (!which('bash')) return 'bash is not installed';
  if (!NPM) return 'npm is not on the PATH';
  if (asRoot) {
    if (!which('setpriv')) return 'setpriv is not installed (Debian: util-linux), needed to run the blocks as nobody';
    const r = spawnSync('setpriv', [
      `--reuid=${NOBODY}`,
      `--regid=${NOBODY}`,
      '--clear-groups',
      '--',
      'test',
      '-r',
      join(PROJECT_ROOT, 'node_modules/tsx/package.json'),
    ]);
    if (r.status !== 0) return `nobody cannot read ${PROJECT_ROOT}: the blocks run as a normal user (make the checkout world-readable)`;
  }
  return false;
}

/** The programs the blocks call, and the Debian package that has each. */
const TOOLS: Record<string, string> = { docker: 'docker.io', etcd: 'etcd-server', pass: 'pass', gpg: 'gnupg', openssl: 'openssl', curl: 'curl' };

/** Why a file's blocks cannot run here: a program they call is missing. */
function missingTools(blocks: Block[]): string | false {
  const text = blocks
    .filter((b) => SHELL_LANGS.has(b.lang) && b.directive.kind !== 'skip')
    .map((b) => b.body)
    .join('\n');
  const missing = Object.keys(TOOLS).filter((tool) => new RegExp(`(^|[\\s|;&(])${tool} `, 'm').test(text) && !which(tool));
  if (missing.length === 0) return false;
  return `needs ${missing.join(', ')} (Debian: apt-get install ${missing.map((m) => TOOLS[m]).join(' ')})`;
}

const skip = cannotRun();
// Two files at a time: each has its own scratch folder, sockets and data roots, and the few fixed
// TCP ports in the docs (TLS 2376, console 8377, etcd 2379–2384) are each in one file only.
describe('the docs run as written', { concurrency: 2 }, () => {
  for (const file of docFiles().filter((f) => f !== 'drivers/README.md')) {
    const blocks = codeBlocks(readFileSync(join(PROJECT_ROOT, file), 'utf8'), file);
    const runnable = blocks.filter((b) => SHELL_LANGS.has(b.lang) || b.directive.kind === 'file');
    if (!runnable.some((b) => SHELL_LANGS.has(b.lang))) continue;
    // Under CI=true a missing program is a failure, never a skip: CI installs them all.
    const need = missingTools(runnable);
    test(`the shell blocks of ${file} run as written`, { skip: skip || (process.env.CI ? false : need), timeout: 600_000 }, async (t) => {
      if (need) assert.fail(`${file}: ${need}`);
      const session = new Session(file);
      try {
        for (const block of runnable) {
          const d = block.directive;
          if (d.kind === 'file') {
            session.writeFile(d.name, block.body);
            continue;
          }
          if (d.kind === 'skip') {
            t.diagnostic(`${file}:${block.line}: not run: ${d.reason}`);
            continue;
          }
          if (d.stop) await session.stopAll();
          if (d.kind === 'background') await session.start(block, d.daemons);
          else await session.run(block);
        }
      } finally {
        await session.dispose();
      }
    });
  }
});
