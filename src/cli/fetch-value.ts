/**
 * What `get` and `materialize` share: the consumer token (flag, SECRETD_TOKEN, or a file), the
 * task context (a JSON file shaped as spec/delivery-context.json), and the delivery call.
 */
import { readFileSync } from 'node:fs';
import { parseVersionPin, PIN_HINT } from '../delivery/version-pin.ts';
import { Client } from './client.ts';
import { helpColumns } from './help.ts';
import { UsageError } from './usage.ts';

export const VALUE_OPTIONS = {
  host: { type: 'string', short: 'H' },
  token: { type: 'string' },
  'token-file': { type: 'string' },
  context: { type: 'string' },
  version: { type: 'string' },
} as const;

export interface ValueFlags {
  host?: string | undefined;
  token?: string | undefined;
  'token-file'?: string | undefined;
  context?: string | undefined;
  version?: string | undefined;
}

export const VALUE_HELP = helpColumns([
  ['-H, --host URL', 'the daemon (default: $DOCKER_HOST, else the default socket)'],
  ['    --token TOKEN', 'a consumer token (default: $SECRETD_TOKEN); prefer --token-file'],
  ['    --token-file FILE', 'read the consumer token from FILE'],
  ['    --context FILE', 'the task context as JSON (Service, Node, Task, Env, Secrets)'],
  ['    --version N', 'value version N instead of the current one (see secretd secret versions)'],
]);

export interface ValueSource {
  fetch(name: string): Promise<{ value: Buffer; doNotReuse: boolean }>;
}

export function valueSource(flags: ValueFlags): ValueSource {
  const token = flags['token-file'] !== undefined ? readFileSync(flags['token-file'], 'utf8').trim() : (flags.token ?? process.env.SECRETD_TOKEN);
  if (!token) throw new UsageError('a consumer token is needed: --token-file FILE, --token TOKEN or SECRETD_TOKEN');
  let context: unknown = {};
  if (flags.context !== undefined) {
    try {
      context = JSON.parse(readFileSync(flags.context, 'utf8'));
    } catch (e) {
      throw new UsageError(`--context ${flags.context}: ${(e as Error).message}`);
    }
  }
  let query = '';
  if (flags.version !== undefined) {
    if (parseVersionPin(flags.version) === undefined) throw new UsageError(`--version ${flags.version}: ${PIN_HINT}`);
    query = `?version=${flags.version}`;
  }
  const client = new Client(flags.host);
  return {
    async fetch(name) {
      const answer = await client.call('POST', `/_secretd/v1/secrets/${encodeURIComponent(name)}/value${query}`, context, { Authorization: `Bearer ${token}` });
      return { value: answer.body, doNotReuse: answer.headers['x-secretd-do-not-reuse'] === 'true' };
    },
  };
}
