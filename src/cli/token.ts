/**
 * `secretd token create|ls|rm`: consumer tokens for delivery, administered over the daemon's
 * unix socket. `create` prints only the token on stdout, so `TOKEN=$(secretd token create …)` works.
 */
import { parseArgs } from 'node:util';
import type { TokenView } from '../delivery/types.ts';
import { Client } from './client.ts';
import { helpColumns } from './help.ts';
import { UsageError } from './usage.ts';

export const TOKEN_USAGE = `Usage:
  secretd token create --allow PATTERN [--allow PATTERN…] [--description TEXT] [-H HOST]
  secretd token ls [--format table|json] [-H HOST]
  secretd token rm ID [ID…] [-H HOST]

PATTERN is a secret name in which * matches any run of characters ('app.*', 'db_password').
The token is printed once; secretd keeps only its hash.

${helpColumns([
  ['    --allow PATTERN', 'create: a secret name the token may read; repeat for several'],
  ['    --description TEXT', 'create: what the token is for (shown by ls)'],
  ['    --format table|json', 'ls: a table (default), or JSON'],
  ['-H, --host URL', "the daemon's unix socket (default: $DOCKER_HOST, else the default socket)"],
])}
`;

export async function tokenCommand(argv: string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const [action, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    options: {
      host: { type: 'string', short: 'H' },
      allow: { type: 'string', multiple: true },
      description: { type: 'string' },
      format: { type: 'string' },
    },
    allowPositionals: true,
    strict: true,
  });
  const client = new Client(values.host);
  switch (action) {
    case 'create': {
      if (!values.allow?.length) throw new UsageError('token create needs at least one --allow PATTERN');
      if (positionals.length) throw new UsageError(`token create takes no arguments (got ${positionals.join(' ')})`);
      const body: Record<string, unknown> = { Allow: values.allow };
      if (values.description !== undefined) body.Description = values.description;
      const created = JSON.parse((await client.call('POST', '/_secretd/v1/tokens', body)).body.toString('utf8')) as TokenView & { Token: string };
      err.write(`token ${created.ID} may read: ${created.Allow.join(', ')}\n`);
      out.write(`${created.Token}\n`);
      return 0;
    }
    case 'ls': {
      const tokens = JSON.parse((await client.call('GET', '/_secretd/v1/tokens')).body.toString('utf8')) as TokenView[];
      if (values.format === 'json') out.write(`${JSON.stringify(tokens, null, 2)}\n`);
      else if (values.format === undefined || values.format === 'table') out.write(table(tokens));
      else throw new UsageError(`--format ${values.format}: use table or json`);
      return 0;
    }
    case 'rm': {
      if (!positionals.length) throw new UsageError('token rm needs at least one token ID');
      let failed = 0;
      for (const id of positionals) {
        try {
          await client.call('DELETE', `/_secretd/v1/tokens/${encodeURIComponent(id)}`);
          out.write(`${id}\n`);
        } catch (e) {
          err.write(`${(e as Error).message}\n`);
          failed++;
        }
      }
      return failed ? 1 : 0;
    }
    default:
      throw new UsageError(action ? `unknown token command "${action}"` : 'token needs a command: create, ls or rm');
  }
}

function table(tokens: TokenView[]): string {
  const rows = [['ID', 'CREATED', 'ALLOW', 'DESCRIPTION'], ...tokens.map((t) => [t.ID, t.CreatedAt.slice(0, 19) + 'Z', t.Allow.join(','), t.Description])];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map(
      (r) =>
        r
          .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 3)))
          .join('')
          .trimEnd() + '\n',
    )
    .join('');
}
