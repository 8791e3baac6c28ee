/**
 * The daemon's command line, dockerd-like. This table is the single list of flags: it feeds
 * node:util parseArgs, the --help text, and the README's flag table (checked by a test).
 */
import { parseArgs } from 'node:util';

export interface FlagSpec {
  name: string;
  short?: string;
  type: 'string' | 'boolean';
  multiple?: boolean;
  arg?: string;
  help: string;
}

export const FLAGS: readonly FlagSpec[] = [
  { name: 'host', short: 'H', type: 'string', multiple: true, arg: 'URL', help: 'Where to listen: unix:///path/to.sock or tcp://127.0.0.1:PORT; repeat for several (default: unix://$XDG_RUNTIME_DIR/secretd.sock, or unix:///run/secretd.sock for root)' },
  { name: 'data-root', type: 'string', arg: 'DIR', help: 'Where the store, the keyring and the pid file live (default: $XDG_DATA_HOME/secretd, or /var/lib/secretd for root)' },
  { name: 'log-level', type: 'string', arg: 'LEVEL', help: 'debug, info, warn, error or fatal (default: info)' },
  { name: 'no-swarm-init', type: 'boolean', help: 'Do not make a fresh data root a single-node swarm manager; secrets then answer 503 until `docker swarm init`' },
  { name: 'help', short: 'h', type: 'boolean', help: 'Print this help and exit' },
  { name: 'version', short: 'v', type: 'boolean', help: 'Print the version and exit' },
];

export interface ParsedFlags {
  host?: string[];
  'data-root'?: string;
  'log-level'?: string;
  'no-swarm-init'?: boolean;
  help?: boolean;
  version?: boolean;
}

/** Throws a TypeError (with parseArgs' message) on an unknown flag or a missing value. */
export function parseFlags(argv: string[]): ParsedFlags {
  const options = Object.fromEntries(
    FLAGS.map((f) => [f.name, { type: f.type, ...(f.short ? { short: f.short } : {}), ...(f.multiple ? { multiple: true } : {}) }]),
  );
  return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values as ParsedFlags;
}

export function helpText(): string {
  const lines = FLAGS.map((f) => {
    const names = `${f.short ? `-${f.short}, ` : '    '}--${f.name}${f.arg ? ` ${f.arg}` : ''}`;
    return `  ${names.padEnd(28)} ${f.help}`;
  });
  return ['Usage: secretd [OPTIONS]', '', 'A Docker Swarm-compatible secrets daemon (Docker Engine API 1.44).', '', 'Options:', ...lines, ''].join('\n');
}
