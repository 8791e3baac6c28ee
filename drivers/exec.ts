/**
 * The `exec` secret driver, credential-helper style: a secret's value is what a command prints.
 * At each use it runs the operator's argv plus the secret's key (`pass show db/password`),
 * without a shell, in its own process group, with a minimal environment, the request as JSON on
 * stdin and a time and output bound. The command's stderr is never echoed to clients or logs
 * (a misbehaving helper may print a secret there); only its length is logged, at debug level.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { isAbsolute, resolve } from 'node:path';
import { checkKeys, driverError as fail, MAX_VALUE_BYTES } from '../src/drivers/kit.ts';
import type { DriverLog, DriverSetup, SecretDriver, SecretRequest, SecretValue, StringMap } from '../src/drivers/types.ts';

export const EXEC_DRIVER = 'exec';

/** The operator's settings: `--driver-opt exec.KEY=VALUE`. */
export interface ExecSettings {
  /** A JSON array argv (`["pass","show"]`) or a single executable path. Required. */
  command?: string;
  /** Milliseconds a run may take before its process group is killed. Default 10000. */
  timeout?: string;
  /** Most bytes of stdout accepted (1..511999); more kills the run. Default 511999. */
  'max-bytes'?: string;
  /** Comma-separated daemon environment variables passed through. Default: none (PATH only). */
  env?: string;
  /** `newline` strips one trailing `\n` from the output; `none` keeps it as is. Default `newline`. */
  trim?: string;
}

/** A secret's `Driver.Options` (untrusted: they come from the API client). */
export interface ExecOptions {
  /** The last argument given to the command. Default: the secret's name. */
  key?: string;
}

const DEFAULT_TIMEOUT_MS = 10_000;
/** Longest timeout accepted, in milliseconds (10 minutes). */
const MAX_TIMEOUT_MS = 600_000;
/** After a kill, how long to wait for the pipes to close before giving up on them, in ms. */
const KILL_GRACE_MS = 2_000;
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const MAX_KEY_CHARS = 1024;
const KEY = /^[A-Za-z0-9][A-Za-z0-9_./@-]*$/;
const VARIABLE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const SETTING_KEYS = ['command', 'timeout', 'max-bytes', 'env', 'trim'];
const OPTION_KEYS = ['key'];

/** The settings, parsed and checked once at init. */
interface ExecConfig {
  argv: string[];
  timeoutMs: number;
  maxBytes: number;
  passEnv: string[];
  trimNewline: boolean;
}

const silent: DriverLog = { debug() {}, info() {}, warn() {}, error() {} };

/** A fresh, unconfigured driver (the default export is one; tests make their own). */
export function createExecDriver(): SecretDriver {
  let config: ExecConfig | undefined;
  let log: DriverLog = silent;
  const running = new Set<number>();

  return {
    name: EXEC_DRIVER,
    kind: 'secret',

    init(setup: DriverSetup): void {
      config = parseSettings(setup.settings);
      log = setup.log ?? silent;
    },

    close(): void {
      for (const pgid of running) killGroup(pgid);
      running.clear();
    },

    validate(options: StringMap, secret: { name: string }): void {
      configured(config);
      checkKeys('option', options, OPTION_KEYS);
      checkKey(options.key ?? secret.name);
    },

    async get(request: SecretRequest): Promise<SecretValue> {
      const cfg = configured(config);
      const options = request.Options ?? {};
      checkKeys('option', options, OPTION_KEYS);
      const key = checkKey(options.key ?? request.SecretName);
      return { value: await run(cfg, key, request, log, running) };
    },
  };
}

const driver: SecretDriver = createExecDriver();
export default driver;

// --- helpers -------------------------------------------------------------------------------------

function parseSettings(settings: StringMap): ExecConfig | undefined {
  checkKeys('setting', settings, SETTING_KEYS);
  if (settings.command === undefined) {
    const others = Object.keys(settings);
    if (others.length > 0) throw fail(`setting "${others[0]}" given without "command"`);
    return undefined;
  }
  return {
    argv: parseCommand(settings.command),
    timeoutMs: parseInteger('timeout', settings.timeout, DEFAULT_TIMEOUT_MS, 1, MAX_TIMEOUT_MS),
    maxBytes: parseInteger('max-bytes', settings['max-bytes'], MAX_VALUE_BYTES, 1, MAX_VALUE_BYTES),
    passEnv: parseEnvList(settings.env ?? ''),
    trimNewline: parseTrim(settings.trim ?? 'newline'),
  };
}

function parseCommand(text: string): string[] {
  let argv: unknown;
  if (text.trimStart().startsWith('[')) {
    try {
      argv = JSON.parse(text);
    } catch {
      throw fail('setting "command" is not a valid JSON array');
    }
  } else {
    argv = [text];
  }
  if (!Array.isArray(argv) || argv.length === 0 || !argv.every((a) => typeof a === 'string' && !a.includes('\0'))) {
    throw fail('setting "command" must be an executable path or a non-empty JSON array of strings');
  }
  const [program, ...rest] = argv as string[];
  if (program === '' || program === undefined) throw fail('setting "command" names no program');
  // A relative path with a slash is pinned to the daemon's cwd now; a bare name is looked up in PATH.
  const pinned = program.includes('/') && !isAbsolute(program) ? resolve(program) : program;
  return [pinned, ...rest];
}

function parseInteger(name: string, text: string | undefined, fallback: number, min: number, max: number): number {
  if (text === undefined) return fallback;
  const n = /^\d+$/.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw fail(`setting "${name}" must be an integer from ${min} to ${max}`);
  return n;
}

function parseEnvList(text: string): string[] {
  const names = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  for (const n of names) {
    if (!VARIABLE.test(n)) throw fail(`setting "env": ${JSON.stringify(n)} is not a variable name`);
  }
  return names;
}

function parseTrim(text: string): boolean {
  if (text === 'newline') return true;
  if (text === 'none') return false;
  throw fail('setting "trim" must be "newline" or "none"');
}

function configured(config: ExecConfig | undefined): ExecConfig {
  if (config === undefined) throw fail('not configured: start secretd with --driver-opt exec.command=\'["pass","show"]\'');
  return config;
}

/** An untrusted key must read as a plain name: never an option, a parent, hidden or directory path. */
function checkKey(key: string): string {
  const shown = JSON.stringify(String(key).slice(0, 100));
  if (typeof key !== 'string' || key === '') throw fail('the key is empty');
  if (key.includes('\0')) throw fail('the key contains a NUL byte');
  if (key.startsWith('-')) throw fail(`key ${shown} starts with "-"`);
  if (key.length > MAX_KEY_CHARS) throw fail(`the key is longer than ${MAX_KEY_CHARS} characters`);
  if (!KEY.test(key)) throw fail(`key ${shown} has characters outside A-Z a-z 0-9 _ . / @ -`);
  for (const segment of key.split('/')) {
    if (segment === '..' || segment === '.') throw fail(`key ${shown} has a "${segment}" segment`);
    if (segment === '') throw fail(`key ${shown} has an empty segment`);
    if (segment.startsWith('.')) throw fail(`key ${shown} has a hidden (dot) segment`);
  }
  return key;
}

/** The command's whole environment: PATH, the pass-through variables, then the request's fields. */
function childEnv(cfg: ExecConfig, key: string, request: SecretRequest): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? DEFAULT_PATH };
  for (const name of cfg.passEnv) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  const fields: [string, string | undefined][] = [
    ['SECRETD_SECRET_KEY', key],
    ['SECRETD_SECRET_NAME', request.SecretName],
    ['SECRETD_SERVICE_ID', request.ServiceID],
    ['SECRETD_SERVICE_NAME', request.ServiceName],
    ['SECRETD_SERVICE_HOSTNAME', request.ServiceHostname],
    ['SECRETD_TASK_ID', request.TaskID],
    ['SECRETD_TASK_NAME', request.TaskName],
    ['SECRETD_TASK_IMAGE', request.TaskImage],
    ['SECRETD_NODE_ID', request.NodeID],
  ];
  for (const [name, value] of fields) {
    if (typeof value === 'string' && value !== '' && !value.includes('\0')) env[name] = value;
  }
  return env;
}

function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // ESRCH: the group is already gone.
  }
}

/** Runs argv + [key] once; resolves with the (trimmed) stdout or rejects naming the key. */
function run(cfg: ExecConfig, key: string, request: SecretRequest, log: DriverLog, running: Set<number>): Promise<Uint8Array> {
  const shown = JSON.stringify(key);
  const program = cfg.argv[0]!;
  return new Promise<Uint8Array>((resolvePromise, reject) => {
    const chunks: Buffer[] = [];
    let outBytes = 0;
    let errBytes = 0;
    let problem: string | undefined; // set when we killed the run
    let settled = false;
    let grace: NodeJS.Timeout | undefined;

    let child: ChildProcessWithoutNullStreams;
    try {
      child = spawn(program, [...cfg.argv.slice(1), key], {
        shell: false,
        detached: true, // its own process group, so a kill reaches everything it started
        env: childEnv(cfg, key, request),
        cwd: '/',
        stdio: ['pipe', 'pipe', 'pipe'],
        windowsHide: true,
      });
    } catch (e) {
      reject(fail(`${program} ${shown}: cannot run (${(e as NodeJS.ErrnoException).code ?? 'error'})`));
      return;
    }
    const pgid = child.pid;
    if (pgid !== undefined) running.add(pgid);

    const finish = (error: Error | undefined, value?: Uint8Array): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(grace);
      // Also reaps helpers it left behind in its group.
      if (pgid !== undefined) {
        killGroup(pgid);
        running.delete(pgid);
      }
      child.stdin.destroy();
      child.stdout.destroy();
      child.stderr.destroy();
      if (errBytes > 0) log.debug({ driver: EXEC_DRIVER, key, stderrBytes: errBytes }, 'secret command wrote to stderr (not shown)');
      if (error) {
        for (const c of chunks) c.fill(0);
        reject(error);
      } else resolvePromise(value!);
    };

    const abort = (reason: string): void => {
      if (problem !== undefined) return;
      problem = reason;
      if (pgid !== undefined) killGroup(pgid);
      // A grandchild outside the group may still hold a pipe: do not wait on it for ever.
      grace = setTimeout(() => finish(fail(`${program} ${shown}: ${reason}`)), KILL_GRACE_MS);
    };

    const timer = setTimeout(() => abort(`timed out after ${cfg.timeoutMs} ms (killed)`), cfg.timeoutMs);

    child.on('error', (e: NodeJS.ErrnoException) => {
      const why = e.code === 'ENOENT' ? 'command not found' : e.code === 'EACCES' ? 'command not executable' : `cannot run (${e.code ?? 'error'})`;
      finish(fail(`${program} ${shown}: ${why}`));
    });

    child.stdout.on('data', (chunk: Buffer) => {
      if (problem !== undefined) return;
      outBytes += chunk.length;
      if (outBytes > cfg.maxBytes) {
        chunk.fill(0);
        abort(`printed more than ${cfg.maxBytes} bytes (killed)`);
        return;
      }
      chunks.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      errBytes += chunk.length;
    });
    // A command that does not read stdin may close it before we write: not an error.
    child.stdin.on('error', () => {});
    child.stdin.end(JSON.stringify(request));

    child.on('close', (code, signal) => {
      if (problem !== undefined) return finish(fail(`${program} ${shown}: ${problem}`));
      const stderrNote = errBytes > 0 ? `; stderr: ${errBytes} bytes, not shown` : '';
      if (signal) return finish(fail(`${program} ${shown}: killed by ${signal}${stderrNote}`));
      if (code !== 0) return finish(fail(`${program} ${shown}: exited with code ${code}${stderrNote}`));
      let length = outBytes;
      if (cfg.trimNewline && length > 0 && chunks.at(-1)!.at(-1) === 0x0a) length -= 1;
      if (length === 0) return finish(fail(`${program} ${shown}: printed nothing${stderrNote}`));
      // A fresh array, not a view on Node's shared buffer pool; the chunks are wiped.
      const value = new Uint8Array(length);
      let at = 0;
      for (const c of chunks) {
        value.set(c.subarray(0, Math.min(c.length, length - at)), at);
        at += c.length;
        if (at >= length) break;
      }
      for (const c of chunks) c.fill(0);
      finish(undefined, value);
    });
  });
}
