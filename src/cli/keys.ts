/**
 * `secretd keys ls|rotate`: the key-encryption keys of a daemon, over its unix socket
 * (/_secretd/v1/keys, which answers on the unix socket only). `ls` shows the provider, the
 * current and kept KEKs and the last rotation's progress; `rotate` starts a rotation (the
 * re-wrap runs in the daemon's background) and, with --wait, waits until it has finished.
 */
import { parseArgs } from 'node:util';
import { Client } from './client.ts';
import { helpColumns } from './help.ts';
import { Failure, UsageError } from './usage.ts';

export const KEYS_USAGE = `Usage:
  secretd keys ls [--format table|json] [-H HOST]
  secretd keys rotate [--wait] [-H HOST]

ls shows the key provider, the current key-encryption key (KEK), the KEKs kept to open older
values, and the state of the last rotation. rotate makes a new KEK current; the daemon then
re-wraps every data key under it in the background, serving meanwhile.

${helpColumns([
  ['    --format table|json', "ls: aligned lines (default), or the daemon's JSON"],
  ['    --wait', 'rotate: wait until every data key is re-wrapped (exit 1 if any failed)'],
  ['-H, --host URL', "the daemon's unix socket (default: $DOCKER_HOST, else the default socket)"],
])}
`;

/** GET /_secretd/v1/keys, as the daemon answers it. */
interface KeysView {
  Provider: string;
  CurrentKey: string;
  Keys: string[];
  Autolock: boolean;
  Rotation: { State: string; Rewrapped: number; Failed: number; StartedAt: string; FinishedAt: string };
}

/** How often `rotate --wait` asks for progress, and for how long at most. */
const POLL_MS = 200;
const WAIT_MS = 3_600_000;

export async function keysCommand(argv: string[], out: NodeJS.WritableStream): Promise<number> {
  const [action, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    options: { host: { type: 'string', short: 'H' }, format: { type: 'string' }, wait: { type: 'boolean' } },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length) throw new UsageError(`keys ${action ?? ''} takes no arguments (got ${positionals.join(' ')})`.replace('  ', ' '));
  const client = new Client(values.host);
  if (client.host.startsWith('tcp://')) throw new UsageError('keys are administered over the unix socket only: use -H unix:///path/to/secretd.sock');
  const get = async () => JSON.parse((await client.call('GET', '/_secretd/v1/keys')).body.toString('utf8')) as KeysView;
  switch (action) {
    case 'ls': {
      if (values.wait) throw new UsageError('--wait is for keys rotate');
      const keys = await get();
      if (values.format === 'json') out.write(`${JSON.stringify(keys, null, 2)}\n`);
      else if (values.format === undefined || values.format === 'table') out.write(describe(keys));
      else throw new UsageError(`--format ${values.format}: use table or json`);
      return 0;
    }
    case 'rotate': {
      if (values.format !== undefined) throw new UsageError('--format is for keys ls');
      let keys = JSON.parse((await client.call('POST', '/_secretd/v1/keys/rotate')).body.toString('utf8')) as KeysView;
      out.write(`current key: ${keys.CurrentKey}\n`);
      if (!values.wait) {
        out.write(`re-wrapping in the background: see secretd keys ls\n`);
        return 0;
      }
      const deadline = Date.now() + WAIT_MS;
      while (keys.Rotation.State === 'running') {
        if (Date.now() > deadline) throw new Failure(`the rotation is still running after ${WAIT_MS / 1000} s: see secretd keys ls`);
        await new Promise((r) => setTimeout(r, POLL_MS));
        keys = await get();
      }
      out.write(`rotation ${keys.Rotation.State}: ${keys.Rotation.Rewrapped} re-wrapped, ${keys.Rotation.Failed} failed\n`);
      return keys.Rotation.Failed > 0 ? 1 : 0;
    }
    default:
      throw new UsageError(action ? `unknown keys command "${action}"` : 'keys needs a command: ls or rotate');
  }
}

/** Aligned "name: value" lines, the KEKs one a line with the current one marked. */
function describe(k: KeysView): string {
  const r = k.Rotation;
  const rows: [string, string][] = [
    ['Provider', k.Provider],
    ['Autolock', k.Autolock ? 'on' : 'off'],
    ['Current key', k.CurrentKey],
    ['Keys', k.Keys.map((id) => (id === k.CurrentKey ? `${id} (current)` : id)).join(', ')],
    ['Rotation', `${r.State}${r.State === 'idle' && !r.StartedAt ? '' : `: ${r.Rewrapped} re-wrapped, ${r.Failed} failed`}`],
  ];
  if (r.StartedAt) rows.push(['Started', r.StartedAt]);
  if (r.FinishedAt) rows.push(['Finished', r.FinishedAt]);
  return rows.map(([name, value]) => `${`${name}:`.padEnd(13)}${value}\n`).join('');
}
