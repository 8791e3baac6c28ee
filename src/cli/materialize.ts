/**
 * `secretd materialize --target DIR NAME[:FILE]…`: each value as a 0400 file in DIR, the way
 * Swarm mounts secrets in /run/secrets. All values are fetched first, so one failure writes
 * nothing; each file is written to a temporary name, synced, then renamed into place.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fsyncFolderOf } from '../durable-files.ts';
import { VALUE_HELP, VALUE_OPTIONS, valueSource } from './fetch-value.ts';
import { helpColumns } from './help.ts';
import { UsageError } from './usage.ts';

export const MATERIALIZE_USAGE = `Usage: secretd materialize --target DIR [OPTIONS] NAME[:FILE]…

Writes each secret's value to DIR/FILE (default FILE: the secret's name) with mode 0400,
atomically, as Swarm mounts secrets in /run/secrets. Nothing is written unless every value
could be fetched.

Options:
${helpColumns([['    --target DIR', 'where to write (must exist)']])}
${VALUE_HELP}
`;

/** A file name Swarm would accept as a secret target inside the folder: no path, no dot names. */
const FILE_NAME = /^(?!\.{1,2}$)[^/\0]{1,255}$/;

export async function materializeCommand(argv: string[], out: NodeJS.WritableStream): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { ...VALUE_OPTIONS, target: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
  if (!values.target) throw new UsageError('materialize needs --target DIR');
  if (positionals.length === 0) throw new UsageError('materialize needs at least one secret name');
  // Version numbers belong to one secret: version 3 of one says nothing of another's.
  if (values.version !== undefined && positionals.length !== 1) throw new UsageError('--version pins one secret: materialize it on its own');
  if (!statSync(values.target, { throwIfNoEntry: false })?.isDirectory()) throw new UsageError(`--target ${values.target} is not a folder`);
  const wanted = positionals.map((arg) => {
    const colon = arg.indexOf(':');
    const name = colon < 0 ? arg : arg.slice(0, colon);
    const file = colon < 0 ? arg : arg.slice(colon + 1);
    if (!name || !FILE_NAME.test(file)) throw new UsageError(`${arg}: use NAME or NAME:FILE, where FILE is a plain file name`);
    return { name, file };
  });
  const files = new Set(wanted.map((w) => w.file));
  if (files.size !== wanted.length) throw new UsageError('two secrets would be written to the same file');

  const source = valueSource(values);
  const fetched = [];
  for (const w of wanted) fetched.push({ ...w, ...(await source.fetch(w.name)) });
  for (const f of fetched) {
    writeAtomically(join(values.target, f.file), f.value);
    out.write(`${join(values.target, f.file)}\n`);
  }
  fsyncFolderOf(join(values.target, fetched[0]!.file));
  return 0;
}

function writeAtomically(path: string, value: Buffer): void {
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const fd = openSync(tmp, 'wx', 0o400);
  try {
    writeSync(fd, value);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  closeSync(fd);
  renameSync(tmp, path);
}
