/**
 * `secretd secret create`: one secret from exactly one value source (--value, -f FILE, a FILE
 * or - argument, or --from-literal KEY=VALUE… as a JSON object), or from a driver with no value.
 * Sends the body the docker CLI sends (Labels always present) and prints the new ID.
 */
import type { Client } from './client.ts';
import { readSecretInput } from './read-input.ts';
import { UsageError } from './usage.ts';

export interface CreateFlags {
  value?: string | undefined;
  file?: string | undefined;
  'from-literal'?: string[] | undefined;
  label?: string[] | undefined;
  driver?: string | undefined;
  'driver-opt'?: string[] | undefined;
  'template-driver'?: string | undefined;
}

export const VALUE_ON_COMMAND_LINE_WARNING =
  'WARNING: a value given on the command line is saved in your shell history and visible to other users in `ps`; prefer -f FILE or - (stdin).\n';

/** `key=value` strings into a map, as the docker CLI's ConvertKVStringsToMap: no `=` → empty value. */
export function parseLabels(labels: string[] = [], what = 'label'): Record<string, string> {
  const out: Record<string, string> = {};
  for (const label of labels) {
    const at = label.indexOf('=');
    const key = at < 0 ? label : label.slice(0, at);
    if (key.trim() === '') throw new UsageError(`invalid ${what} '${label}': empty name`);
    out[key] = at < 0 ? '' : label.slice(at + 1);
  }
  return out;
}

/** --from-literal KEY=VALUE pairs as the JSON object the secret will hold. */
export function literalsToJson(pairs: string[]): string {
  const object: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new UsageError(`--from-literal ${pair}: expected KEY=VALUE`);
    const key = pair.slice(0, at);
    if (Object.hasOwn(object, key)) throw new UsageError(`--from-literal: key ${key} is given twice`);
    Object.defineProperty(object, key, { value: pair.slice(at + 1), enumerable: true, writable: true, configurable: true });
  }
  return JSON.stringify(object);
}

/** The value bytes from the one source given, or undefined when none is (driver secrets). */
async function valueFrom(
  flags: CreateFlags,
  fileArg: string | undefined,
  err: NodeJS.WritableStream,
  stdin: NodeJS.ReadableStream,
): Promise<Buffer | undefined> {
  const literals = flags['from-literal'] ?? [];
  const sources = [flags.value !== undefined, flags.file !== undefined, fileArg !== undefined, literals.length > 0].filter(Boolean).length;
  if (sources > 1) throw new UsageError('give the value one way only: --value, -f FILE, a FILE or - argument, or --from-literal');
  if (flags.driver !== undefined) {
    // The docker CLI's words: a driver-backed secret carries no data.
    if (sources > 0) throw new UsageError('When using secret driver secret data must be empty');
    return undefined;
  }
  if (flags.value !== undefined || literals.length > 0) {
    if (flags.value === '') throw new UsageError('--value is empty: a secret needs at least one byte');
    const text = flags.value ?? literalsToJson(literals);
    err.write(VALUE_ON_COMMAND_LINE_WARNING);
    return Buffer.from(text, 'utf8');
  }
  const file = flags.file ?? fileArg;
  if (file === undefined) throw new UsageError('secret create needs a value: --value VALUE, -f FILE, - (stdin) or --from-literal KEY=VALUE');
  return readSecretInput(file, stdin);
}

export async function createSecret(
  client: Client,
  flags: CreateFlags,
  positionals: string[],
  io: { out: NodeJS.WritableStream; err: NodeJS.WritableStream; stdin: NodeJS.ReadableStream },
): Promise<number> {
  if (positionals.length < 1 || positionals.length > 2) throw new UsageError('secret create takes a NAME and at most one FILE (or -)');
  const [name, fileArg] = positionals as [string, string | undefined];
  if (flags['driver-opt']?.length && flags.driver === undefined) throw new UsageError('--driver-opt needs --driver');
  const labels = parseLabels(flags.label);
  const options = flags['driver-opt'] ? parseLabels(flags['driver-opt'], 'driver option') : undefined;
  const data = await valueFrom(flags, fileArg, io.err, io.stdin);
  const spec: Record<string, unknown> = { Name: name, Labels: labels };
  if (data !== undefined) spec.Data = data.toString('base64');
  if (flags.driver !== undefined) spec.Driver = options ? { Name: flags.driver, Options: options } : { Name: flags.driver };
  if (flags['template-driver'] !== undefined) spec.Templating = { Name: flags['template-driver'] };
  const answer = await client.call('POST', '/secrets/create', spec);
  io.out.write(`${(JSON.parse(answer.body.toString('utf8')) as { ID: string }).ID}\n`);
  return 0;
}
