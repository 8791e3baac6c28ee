/**
 * `secretd secret rotate|versions|rollback|restore|purge|removed`: rotation and the recovery
 * window, through /_secretd/v1 (docs/rotation.md). Never prints a value.
 */
import { parseGenerateSpec } from '../secrets/generate.ts';
import type { Client } from './client.ts';
import { ago, table } from './format.ts';
import { readSecretInput } from './read-input.ts';
import { UsageError } from './usage.ts';

const PREFIX = '/_secretd/v1';

interface VersionView {
  Version: number;
  CreatedAt: string;
  Current: boolean;
}

interface RemovedView {
  ID: string;
  Name: string;
  RemovedAt: string;
  PurgeAfter: string;
}

const path = (ref: string) => `${PREFIX}/secrets/${encodeURIComponent(ref)}/versions`;

/** rotate NAME [FILE|-] | rotate NAME --generate SPEC: prints the new version number. */
export async function rotate(
  client: Client,
  flags: { generate?: string | undefined },
  positionals: string[],
  io: { out: NodeJS.WritableStream; stdin: NodeJS.ReadableStream },
): Promise<number> {
  const [ref, file, ...extra] = positionals;
  if (ref === undefined) throw new UsageError('secret rotate needs a secret name or ID');
  if (extra.length > 0) throw new UsageError(`secret rotate takes one secret and at most one FILE (got ${positionals.join(' ')})`);
  if ((file === undefined) === (flags.generate === undefined)) {
    throw new UsageError('secret rotate takes the new value from exactly one of FILE, - (stdin) or --generate SPEC');
  }
  let body: unknown;
  if (flags.generate !== undefined) {
    try {
      body = { Generate: parseGenerateSpec(flags.generate) };
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  } else {
    const value = await readSecretInput(file!, io.stdin);
    body = { Data: value.toString('base64') };
    value.fill(0);
  }
  const answer = JSON.parse((await client.call('POST', path(ref), body)).body.toString('utf8')) as { Version: number };
  io.out.write(`${answer.Version}\n`);
  return 0;
}

/** versions NAME [--format table|json] */
export async function versions(client: Client, format: string | undefined, positionals: string[], out: NodeJS.WritableStream): Promise<number> {
  if (format !== undefined && format !== 'table' && format !== 'json') throw new UsageError(`--format ${format}: use table or json`);
  if (positionals.length !== 1) throw new UsageError('secret versions needs exactly one secret name or ID');
  const list = JSON.parse((await client.call('GET', path(positionals[0]!))).body.toString('utf8')) as VersionView[];
  if (format === 'json') {
    for (const v of list) out.write(`${JSON.stringify({ Version: v.Version, CreatedAt: v.CreatedAt, Current: v.Current })}\n`);
    return 0;
  }
  const now = Date.now();
  out.write(table([['VERSION', 'CREATED', 'CURRENT'], ...list.map((v) => [String(v.Version), ago(v.CreatedAt, now), v.Current ? '*' : ''])]));
  return 0;
}

/** rollback NAME VERSION: prints the version now current. */
export async function rollback(client: Client, positionals: string[], out: NodeJS.WritableStream): Promise<number> {
  const [ref, version, ...extra] = positionals;
  if (ref === undefined || version === undefined || extra.length > 0) throw new UsageError('secret rollback needs a secret name or ID and a VERSION');
  if (!/^[1-9][0-9]{0,14}$/.test(version))
    throw new UsageError(`secret rollback: VERSION ${JSON.stringify(version)} is not a version number (see secretd secret versions ${ref})`);
  await client.call('POST', `${path(ref)}/${version}/rollback`);
  out.write(`${version}\n`);
  return 0;
}

/** restore NAME|ID…: prints each ID restored. */
export async function restore(client: Client, positionals: string[], io: { out: NodeJS.WritableStream; err: NodeJS.WritableStream }): Promise<number> {
  if (positionals.length === 0) throw new UsageError('secret restore needs at least one removed secret name or ID');
  return each(positionals, io, async (ref) => {
    const restored = JSON.parse((await client.call('POST', `${PREFIX}/removed-secrets/${encodeURIComponent(ref)}/restore`)).body.toString('utf8')) as {
      ID: string;
    };
    return restored.ID;
  });
}

/** purge NAME|ID…: prints each argument purged. */
export async function purge(client: Client, positionals: string[], io: { out: NodeJS.WritableStream; err: NodeJS.WritableStream }): Promise<number> {
  if (positionals.length === 0) throw new UsageError('secret purge needs at least one removed secret name or ID');
  return each(positionals, io, async (ref) => {
    await client.call('DELETE', `${PREFIX}/removed-secrets/${encodeURIComponent(ref)}`);
    return ref;
  });
}

/** removed [--format table|json]: the secrets a recovery window still keeps. */
export async function removed(client: Client, format: string | undefined, positionals: string[], out: NodeJS.WritableStream): Promise<number> {
  if (format !== undefined && format !== 'table' && format !== 'json') throw new UsageError(`--format ${format}: use table or json`);
  if (positionals.length > 0) throw new UsageError(`secret removed takes no arguments (got ${positionals.join(' ')})`);
  const list = JSON.parse((await client.call('GET', `${PREFIX}/removed-secrets`)).body.toString('utf8')) as RemovedView[];
  if (format === 'json') {
    for (const r of list) out.write(`${JSON.stringify(r)}\n`);
    return 0;
  }
  const now = Date.now();
  out.write(table([['ID', 'NAME', 'REMOVED', 'PURGED AFTER'], ...list.map((r) => [r.ID, r.Name, ago(r.RemovedAt, now), r.PurgeAfter])]));
  return 0;
}

/** Runs `act` for every argument; each success prints its line, each failure its error, and on. */
async function each(refs: string[], io: { out: NodeJS.WritableStream; err: NodeJS.WritableStream }, act: (ref: string) => Promise<string>): Promise<number> {
  let failed = 0;
  for (const ref of refs) {
    try {
      io.out.write(`${await act(ref)}\n`);
    } catch (e) {
      io.err.write(`${(e as Error).message}\n`);
      failed++;
    }
  }
  return failed ? 1 : 0;
}
