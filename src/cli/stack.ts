/**
 * `secretd stack deploy|rm`: the secrets half of `docker stack deploy` and `docker stack rm`
 * (docker/cli cli/command/stack/swarm), against any Engine API. Deploy creates each secret of
 * the compose file as STACK_KEY (or its `name:`) labelled com.docker.stack.namespace=STACK, or
 * updates it when it exists (the daemon refuses changed data, as Swarm does), so it can be re-run.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Client, DaemonError } from './client.ts';
import { helpColumns } from './help.ts';
import { loadComposeSecrets, type ComposeSecret } from './compose.ts';
import { naturalLess } from './format.ts';
import { goFileError } from './read-input.ts';
import type { Io, SecretView } from './secret.ts';
import { Failure, UsageError } from './usage.ts';

export const STACK_USAGE = `Usage:
  secretd stack deploy -c COMPOSE_FILE [-H HOST] STACK
  secretd stack rm [-H HOST] STACK [STACK…]

deploy creates or updates the secrets declared under the compose file's top-level secrets:
(file, environment, driver/driver_opts, template_driver, labels, name; external ones must
exist already), named STACK_KEY unless name: is set, labelled com.docker.stack.namespace=STACK.
It prints "Creating secret NAME" or "Updating secret NAME" per secret; re-running it with the
same values succeeds, a changed value is refused by the daemon (remove the stack first).
Other sections (services, networks…) are ignored: deploy them with docker stack deploy.
rm removes every secret labelled with the stack. -c - reads the compose file from stdin.

${helpColumns([
  ['-c, --compose-file FILE', 'the compose file'],
  ['-H, --host URL', 'the daemon (default: $DOCKER_HOST, else the default socket)'],
])}
`;

export const NAMESPACE_LABEL = 'com.docker.stack.namespace';

const NOT_A_MANAGER = 'this node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again';

export async function stackCommand(argv: string[], io: Io): Promise<number> {
  const [action, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    options: { host: { type: 'string', short: 'H' }, 'compose-file': { type: 'string', short: 'c' } },
    allowPositionals: true,
    strict: true,
  });
  const client = () => new Client(values.host);
  switch (action) {
    case 'deploy':
    case 'up': {
      const file = values['compose-file'];
      if (file === undefined) throw new UsageError('stack deploy needs -c COMPOSE_FILE');
      if (positionals.length !== 1) throw new UsageError('stack deploy takes exactly one STACK name');
      return deploy(client(), file, checkStackName(positionals[0]!), io);
    }
    case 'rm':
    case 'remove':
    case 'down':
      if (values['compose-file'] !== undefined) throw new UsageError('stack rm takes no -c');
      if (!positionals.length) throw new UsageError('stack rm needs at least one STACK name');
      return remove(client(), positionals.map(checkStackName), io);
    default:
      throw new UsageError(action ? `unknown stack command "${action}"` : 'stack needs a command: deploy or rm');
  }
}

/** docker/cli's validateStackName: not blank. Names are checked again by the daemon. */
function checkStackName(name: string): string {
  if (name.trim() === '') throw new UsageError(`invalid stack name: ${JSON.stringify(name)}`);
  return name;
}

/** The compose file's secrets as the Engine API specs docker stack deploy would send. */
export async function composeToSpecs(
  file: string,
  stack: string,
  io: Pick<Io, 'err' | 'stdin'>,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ specs: Record<string, unknown>[]; external: string[] }> {
  let text: string;
  try {
    text = file === '-' ? await readAll(io.stdin) : readFileSync(file, 'utf8');
  } catch (e) {
    throw new Failure(goFileError('open', file, e));
  }
  const workingDir = file === '-' ? process.cwd() : dirname(resolve(file));
  const secrets = loadComposeSecrets(text, { workingDir, env, warn: (m) => io.err.write(`WARNING: ${m}\n`) });
  const specs: Record<string, unknown>[] = [];
  const external: string[] = [];
  for (const s of secrets) {
    if (s.external) external.push(s.name!);
    else specs.push(toSpec(s, stack, env));
  }
  return { specs, external };
}

/** convert.Secrets: name, namespace label, data from the file or variable, driver, templating. */
function toSpec(s: ComposeSecret, stack: string, env: NodeJS.ProcessEnv): Record<string, unknown> {
  const spec: Record<string, unknown> = { Name: s.name ?? `${stack}_${s.key}`, Labels: { ...s.labels, [NAMESPACE_LABEL]: stack } };
  if (s.file !== undefined) {
    try {
      spec.Data = readFileSync(s.file).toString('base64');
    } catch (e) {
      throw new Failure(goFileError((e as NodeJS.ErrnoException).code === 'EISDIR' ? 'read' : 'open', s.file, e));
    }
  } else if (s.environment !== undefined) {
    const value = env[s.environment];
    if (value === undefined) throw new Failure(`secret ${s.key}: environment variable ${s.environment} is not set`);
    spec.Data = Buffer.from(value, 'utf8').toString('base64');
  }
  if (s.driver !== undefined) spec.Driver = s.driverOpts ? { Name: s.driver, Options: s.driverOpts } : { Name: s.driver };
  if (s.templateDriver !== undefined) spec.Templating = { Name: s.templateDriver };
  return spec;
}

async function deploy(client: Client, file: string, stack: string, io: Io): Promise<number> {
  // Everything that can fail locally (YAML, schema, files, variables) fails before any change,
  // then every lookup (manager, external secrets, which secrets exist) before the first write.
  const { specs, external } = await composeToSpecs(file, stack, io);
  await requireManager(client);
  for (const name of external) {
    const found = await inspectSecret(client, name);
    if (!found) throw new Failure(`secret not found: ${name}`);
  }
  const plan: { spec: Record<string, unknown>; existing: SecretView | undefined }[] = [];
  for (const spec of specs) plan.push({ spec, existing: await inspectSecret(client, spec.Name as string) });
  // What the daemon alone can refuse (a driver's validate, a changed value) is only known when
  // it answers; then this run's changes are undone, so a refused deploy leaves things as they were.
  const undo: (() => Promise<void>)[] = [];
  for (const { spec, existing } of plan) {
    const name = spec.Name as string;
    try {
      if (existing) {
        io.out.write(`Updating secret ${name}\n`);
        await client.call('POST', `/secrets/${encodeURIComponent(existing.ID)}/update?version=${existing.Version.Index}`, spec);
        undo.push(() => restoreLabels(client, existing));
      } else {
        io.out.write(`Creating secret ${name}\n`);
        const { ID } = JSON.parse((await client.call('POST', '/secrets/create', spec)).body.toString('utf8')) as { ID: string };
        undo.push(async () => void (await client.call('DELETE', `/secrets/${encodeURIComponent(ID)}`)));
      }
    } catch (e) {
      const what = `failed to ${existing ? 'update' : 'create'} secret ${name}: ${(e as Error).message}`;
      throw new Failure(`${what}${await rollBack(undo, io)}`);
    }
  }
  return 0;
}

/** Undoes this run's changes, last first; says what it did, or what it could not undo. */
async function rollBack(undo: (() => Promise<void>)[], io: Io): Promise<string> {
  if (undo.length === 0) return '';
  let failed = 0;
  for (const step of undo.reverse()) {
    try {
      await step();
    } catch (e) {
      failed++;
      io.err.write(`could not undo a change of this deploy: ${(e as Error).message}\n`);
    }
  }
  return failed === 0
    ? `; the ${undo.length} earlier change(s) of this deploy were undone`
    : `; ${failed} of the ${undo.length} earlier change(s) could not be undone`;
}

/** Puts back the labels a secret had before this deploy updated it. */
async function restoreLabels(client: Client, before: SecretView): Promise<void> {
  const now = await inspectSecret(client, before.ID);
  if (!now) return;
  const spec = { Name: before.Spec.Name, Labels: before.Spec.Labels ?? {} };
  await client.call('POST', `/secrets/${encodeURIComponent(now.ID)}/update?version=${now.Version.Index}`, spec);
}

async function remove(client: Client, stacks: string[], io: Io): Promise<number> {
  let failed = 0;
  for (const stack of stacks) {
    const filters = encodeURIComponent(JSON.stringify({ label: { [`${NAMESPACE_LABEL}=${stack}`]: true } }));
    const secrets = JSON.parse((await client.call('GET', `/secrets?filters=${filters}`)).body.toString('utf8')) as SecretView[];
    if (secrets.length === 0) {
      io.err.write(`Nothing found in stack: ${stack}\n`);
      continue;
    }
    let stackFailed = false;
    for (const s of secrets.sort((a, b) => naturalLess(a.Spec.Name, b.Spec.Name))) {
      io.out.write(`Removing secret ${s.Spec.Name}\n`);
      try {
        await client.call('DELETE', `/secrets/${encodeURIComponent(s.ID)}`);
      } catch (e) {
        io.err.write(`Failed to remove secret ${s.ID}: ${(e as Error).message}\n`);
        stackFailed = true;
      }
    }
    if (stackFailed) {
      io.err.write(`failed to remove some resources from stack: ${stack}\n`);
      failed++;
    }
  }
  return failed ? 1 : 0;
}

/** GET /secrets/{name}: the secret, or undefined on 404; any other failure stops the deploy. */
async function inspectSecret(client: Client, name: string): Promise<SecretView | undefined> {
  try {
    return JSON.parse((await client.call('GET', `/secrets/${encodeURIComponent(name)}`)).body.toString('utf8')) as SecretView;
  } catch (e) {
    if (e instanceof DaemonError && e.status === 404) return undefined;
    throw e;
  }
}

/** docker stack deploy's first check: GET /info must show an active manager. */
async function requireManager(client: Client): Promise<void> {
  const info = JSON.parse((await client.call('GET', '/info')).body.toString('utf8')) as { Swarm?: { ControlAvailable?: boolean } };
  if (!info.Swarm?.ControlAvailable) throw new Failure(NOT_A_MANAGER);
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c));
  return Buffer.concat(chunks).toString('utf8');
}
