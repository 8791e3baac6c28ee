/**
 * `secretd secret create|ls|inspect|rm`: the docker CLI's secret commands, against any Engine
 * API (`-H`, DOCKER_HOST or the default socket), with the docker CLI's output and wording; and
 * secretd's own rotation commands (secret-versions.ts), which need a secretd.
 */
import { parseArgs } from 'node:util';
import { Client } from './client.ts';
import { ago, naturalLess, table } from './format.ts';
import { helpColumns } from './help.ts';
import { createSecret } from './secret-create.ts';
import { purge, removed, restore, rollback, rotate, versions } from './secret-versions.ts';
import { UsageError } from './usage.ts';

export const SECRET_USAGE = `Usage:
  secretd secret create [OPTIONS] NAME [FILE|-]
  secretd secret ls [--filter KEY=VALUE…] [--format table|json] [-q]
  secretd secret inspect NAME|ID [NAME|ID…]
  secretd secret rm NAME|ID [NAME|ID…]
  secretd secret rotate NAME|ID [FILE|-] [--generate LENGTH[:CLASSES]]
  secretd secret versions NAME|ID [--format table|json]
  secretd secret rollback NAME|ID VERSION
  secretd secret removed [--format table|json]
  secretd secret restore NAME|ID [NAME|ID…]
  secretd secret purge NAME|ID [NAME|ID…]

create takes the value from exactly one of:
${helpColumns([
  ['    FILE | -', 'a file, or stdin'],
  ['-f, --file FILE', 'a file'],
  ['    --value VALUE', 'the text VALUE (lands in shell history and ps: prefer a file)'],
  ['    --from-literal KEY=VALUE', 'a JSON object {"KEY":"VALUE",…}; repeat for more keys'],
])}
or from a driver, with no value: -d, --driver NAME [--driver-opt KEY=VALUE…]
create options:
${helpColumns([
  ['-l, --label KEY=VALUE', 'a label; repeat for several'],
  ['    --template-driver NAME', 'render the value with this templating driver (golang)'],
])}

ls options:
${helpColumns([
  ['-f, --filter KEY=VALUE', 'name=PREFIX, id=PREFIX, label=KEY or label=KEY=VALUE; repeat to combine'],
  ['    --format table|json', 'a table (default), or one JSON object per line'],
  ['-q, --quiet', 'only IDs'],
])}

rotate stores the next version of a secret's value and makes it current (docs/rotation.md):
${helpColumns([
  ['    FILE | -', 'the new value from a file, or stdin'],
  [
    '    --generate LENGTH[:CLASSES]',
    'a random value: LENGTH (8-4096) characters from CLASSES, a comma list of upper, lower, digits, symbols (default all), each at least once',
  ],
])}
versions lists them (never a value); rollback makes an older one current again. With the
daemon's --recovery-window, rm keeps a secret restorable: removed lists those, restore brings one
back (refused if its name was taken meanwhile), purge ends it at once.

All commands:
${helpColumns([['-H, --host URL', 'the daemon (default: $DOCKER_HOST, else the default socket)']])}

create prints the new ID; rm prints each name removed; rotate and rollback print the version
now current; restore prints each ID restored. Exit 0 on success, 1 when the daemon
refused anything (its message on stderr, after "Error response from daemon: "), 2 on a usage
mistake.
`;

const HOST = { host: { type: 'string', short: 'H' } } as const;

const OPTIONS = {
  create: {
    ...HOST,
    value: { type: 'string' },
    file: { type: 'string', short: 'f' },
    'from-literal': { type: 'string', multiple: true },
    label: { type: 'string', short: 'l', multiple: true },
    driver: { type: 'string', short: 'd' },
    'driver-opt': { type: 'string', multiple: true },
    'template-driver': { type: 'string' },
  },
  ls: {
    ...HOST,
    filter: { type: 'string', short: 'f', multiple: true },
    format: { type: 'string' },
    quiet: { type: 'boolean', short: 'q' },
  },
  inspect: HOST,
  rm: HOST,
  rotate: { ...HOST, generate: { type: 'string' } },
  versions: { ...HOST, format: { type: 'string' } },
  rollback: HOST,
  removed: { ...HOST, format: { type: 'string' } },
  restore: HOST,
  purge: HOST,
} as const;

/** What GET /secrets and GET /secrets/{id} answer (the parts the CLI reads). */
export interface SecretView {
  ID: string;
  Version: { Index: number };
  CreatedAt: string;
  UpdatedAt: string;
  Spec: { Name: string; Labels?: Record<string, string> | null; Driver?: { Name: string } | null };
}

export interface Io {
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream;
}

export async function secretCommand(argv: string[], io: Io): Promise<number> {
  const [action, ...rest] = argv;
  const sub = action === 'remove' ? 'rm' : action === 'list' ? 'ls' : action;
  if (sub === undefined || !Object.hasOwn(OPTIONS, sub)) {
    throw new UsageError(
      action ? `unknown secret command "${action}"` : 'secret needs a command: create, ls, inspect, rm, rotate, versions, rollback, removed, restore or purge',
    );
  }
  const { values, positionals } = parseArgs({ args: rest, options: OPTIONS[sub as keyof typeof OPTIONS], allowPositionals: true, strict: true });
  const flags = values as Record<string, any>;
  const client = new Client(flags.host);
  switch (sub) {
    case 'create':
      return createSecret(client, flags, positionals, io);
    case 'ls':
      if (positionals.length) throw new UsageError(`secret ls takes no arguments (got ${positionals.join(' ')})`);
      return list(client, flags.filter ?? [], flags.format, flags.quiet === true, io.out);
    case 'rotate':
      return rotate(client, flags, positionals, io);
    case 'versions':
      return versions(client, flags.format, positionals, io.out);
    case 'rollback':
      return rollback(client, positionals, io.out);
    case 'removed':
      return removed(client, flags.format, positionals, io.out);
    case 'restore':
      return restore(client, positionals, io);
    case 'purge':
      return purge(client, positionals, io);
    case 'inspect':
      if (!positionals.length) throw new UsageError('secret inspect needs at least one secret name or ID');
      return inspect(client, positionals, io);
    default:
      if (!positionals.length) throw new UsageError('secret rm needs at least one secret name or ID');
      return remove(client, positionals, io);
  }
}

/** `--filter k=v…` in the current map-of-bool encoding: {"name":{"x":true}}. */
export function filtersQuery(filters: string[]): string {
  const map: Record<string, Record<string, boolean>> = {};
  for (const f of filters) {
    const at = f.indexOf('=');
    if (at <= 0) throw new UsageError(`bad format of filter (expected name=value)`);
    const key = f.slice(0, at).trim().toLowerCase();
    (map[key] ??= {})[f.slice(at + 1)] = true;
  }
  return filters.length ? `?filters=${encodeURIComponent(JSON.stringify(map))}` : '';
}

async function list(client: Client, filters: string[], format: string | undefined, quiet: boolean, out: NodeJS.WritableStream): Promise<number> {
  if (format !== undefined && format !== 'table' && format !== 'json') throw new UsageError(`--format ${format}: use table or json`);
  const query = filtersQuery(filters);
  const secrets = JSON.parse((await client.call('GET', `/secrets${query}`)).body.toString('utf8')) as SecretView[];
  secrets.sort((a, b) => naturalLess(a.Spec.Name, b.Spec.Name));
  if (quiet) {
    out.write(secrets.map((s) => `${s.ID}\n`).join(''));
    return 0;
  }
  const now = Date.now();
  if (format === 'json') {
    // The docker CLI's `--format json`: one object per line, keys sorted, ages in words.
    for (const s of secrets) {
      const labels = Object.entries(s.Spec.Labels ?? {})
        .map(([k, v]) => `${k}=${v}`)
        .sort()
        .join(',');
      const row = {
        CreatedAt: ago(s.CreatedAt, now),
        Driver: s.Spec.Driver?.Name ?? '',
        ID: s.ID,
        Labels: labels,
        Name: s.Spec.Name,
        UpdatedAt: ago(s.UpdatedAt, now),
      };
      out.write(`${JSON.stringify(row)}\n`);
    }
    return 0;
  }
  const rows = secrets.map((s) => [s.ID, s.Spec.Name, s.Spec.Driver?.Name ?? '', ago(s.CreatedAt, now), ago(s.UpdatedAt, now)]);
  out.write(table([['ID', 'NAME', 'DRIVER', 'CREATED', 'UPDATED'], ...rows]));
  return 0;
}

/** Prints the found ones as one JSON array (4-space indent, like docker); misses go to stderr. */
async function inspect(client: Client, refs: string[], io: Io): Promise<number> {
  const found: unknown[] = [];
  const errors: string[] = [];
  for (const ref of refs) {
    try {
      found.push(JSON.parse((await client.call('GET', `/secrets/${encodeURIComponent(ref)}`)).body.toString('utf8')));
    } catch (e) {
      errors.push((e as Error).message);
    }
  }
  io.out.write(`${JSON.stringify(found, null, 4)}\n`);
  for (const e of errors) io.err.write(`${e}\n`);
  return errors.length ? 1 : 0;
}

/** One DELETE per argument; each success prints the argument, each failure its error, and on. */
async function remove(client: Client, refs: string[], io: Io): Promise<number> {
  let failed = 0;
  for (const ref of refs) {
    try {
      await client.call('DELETE', `/secrets/${encodeURIComponent(ref)}`);
      io.out.write(`${ref}\n`);
    } catch (e) {
      io.err.write(`${(e as Error).message}\n`);
      failed++;
    }
  }
  return failed ? 1 : 0;
}
