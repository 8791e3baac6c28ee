/** `secretd get NAME`: one secret's value, as a task would receive it, on stdout (nothing added). */
import { parseArgs } from 'node:util';
import { VALUE_HELP, VALUE_OPTIONS, valueSource } from './fetch-value.ts';
import { UsageError } from './usage.ts';

export const GET_USAGE = `Usage: secretd get [OPTIONS] NAME

Prints the value of secret NAME (rendered if it is templated) on stdout, exactly as delivered.

Options:
${VALUE_HELP}
`;

export async function getCommand(argv: string[], out: NodeJS.WritableStream): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: VALUE_OPTIONS, allowPositionals: true, strict: true });
  if (positionals.length !== 1) throw new UsageError('get takes exactly one secret name');
  const { value } = await valueSource(values).fetch(positionals[0]!);
  await new Promise<void>((resolve, reject) => out.write(value, (e) => (e ? reject(e) : resolve())));
  return 0;
}
