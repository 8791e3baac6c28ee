/**
 * `SecretProvider.GetSecret`: swarmkit asks, when it assigns a task, for the value of a swarm
 * secret created with `--driver NAME` (this plugin). The answer is the secretd secret of the same
 * name, or of the name in the swarm secret's label `com.secretd.secret`, resolved on the one
 * path (src/delivery/resolve-value.ts) with the --plugin-allow patterns as scope and the task
 * swarmkit describes as context, so `{{.Service.Name}}` renders the real service. A refusal is
 * `Err` (never a value); one outside the patterns reads exactly as a missing secret.
 *
 * The value is the secretd secret's current version, so a rotation reaches the next task Swarm
 * starts (`docker service update --force`). The label `com.secretd.version=N` pins version N:
 * swarmkit sends the plugin the swarm secret's name and labels only, never its driver options,
 * so a label is the one place a compose file or `docker secret create` can say it.
 */
import type { Peer } from '../audit/events.ts';
import type { DeliveryEvent, ValueResolver } from '../delivery/resolve-value.ts';
import type { DeliveryContext } from '../delivery/types.ts';
import type { SchemaRegistry } from '../schemas.ts';
import { parseVersionPin, PIN_HINT } from '../delivery/version-pin.ts';
import { InvalidRequest, isSecretdError } from '../core/errors.ts';
import type { Answer, Handler } from './server.ts';

/** The swarm secret's label that names another secretd secret than its own name. */
export const SECRET_LABEL = 'com.secretd.secret';
/** The swarm secret's label that pins a value version of it. */
export const VERSION_LABEL = 'com.secretd.version';

interface GetSecretRequest {
  SecretName: string;
  SecretLabels?: Record<string, string>;
  ServiceHostname?: string;
  ServiceID?: string;
  ServiceName?: string;
  ServiceLabels?: Record<string, string>;
  TaskID?: string;
  TaskName?: string;
  TaskImage?: string;
  NodeID?: string;
}

export function getSecretHandler(resolver: ValueResolver, allow: readonly string[], peer: Peer, schemas: SchemaRegistry): Handler {
  const valid = schemas.validator('plugin-get-secret.json');
  return async (body): Promise<Answer> => {
    if (!valid(body)) {
      const e = valid.errors?.[0];
      return { status: 400, body: { Err: `SecretProvider.GetSecret: invalid request: ${e?.instancePath || '/'} ${e?.message ?? 'is not valid'}` } };
    }
    const r = body as GetSecretRequest;
    const name = r.SecretLabels?.[SECRET_LABEL] ?? r.SecretName;
    const event: DeliveryEvent = { peer, secret: name, result: 'delivered' };
    if (r.TaskID) event.task = r.TaskID;
    if (r.ServiceName || r.ServiceID) event.service = r.ServiceName || r.ServiceID!;
    if (r.NodeID) event.node = r.NodeID;
    try {
      const got = await resolver.resolve(event, () => ({ scope: allow, ref: name, match: 'name', context: taskContext(r), ...pinned(r.SecretLabels) }));
      const answer = { Value: Buffer.from(got.value).toString('base64'), DoNotReuse: got.doNotReuse };
      got.value.fill(0);
      return { body: answer };
    } catch (e) {
      // Domain errors are worded for the user and never carry a value; anything else is a bug.
      return { body: { Err: isSecretdError(e) ? e.message : 'secretd: internal error (see its log)' } };
    }
  };
}

/** The version the swarm secret's label pins, if any; a label that is no version number is refused (audited). */
function pinned(labels: Record<string, string> | undefined): { version?: number } {
  const text = labels?.[VERSION_LABEL];
  if (text === undefined) return {};
  const version = parseVersionPin(text);
  if (version === undefined) throw new InvalidRequest(`label ${VERSION_LABEL}=${JSON.stringify(text)}: ${PIN_HINT}`);
  return { version };
}

/** What swarmkit says about the task, as the context templating and drivers see. */
export function taskContext(r: GetSecretRequest): DeliveryContext {
  return {
    service: { ID: r.ServiceID ?? '', Name: r.ServiceName ?? '', Labels: { ...r.ServiceLabels }, Hostname: r.ServiceHostname ?? '' },
    // swarmkit sends the node's ID only: its hostname and platform render empty.
    node: { ID: r.NodeID ?? '', Hostname: '', Platform: { OS: '', Architecture: '' } },
    task: { ID: r.TaskID ?? '', Name: r.TaskName ?? '', Slot: slotOf(r), Image: r.TaskImage ?? '' },
    // Neither the task's environment nor its other secrets are sent: `env` renders '', `secret` fails.
    env: [],
    secrets: [],
  };
}

/** swarmkit names a task SERVICE.SLOT.TASKID (SERVICE.NODEID.TASKID for a global service). */
function slotOf(r: GetSecretRequest): string {
  const name = r.TaskName ?? '';
  const head = `${r.ServiceName ?? ''}.`;
  const tail = `.${r.TaskID ?? ''}`;
  if (!r.ServiceName || !r.TaskID || !name.startsWith(head) || !name.endsWith(tail) || name.length <= head.length + tail.length) return '';
  return name.slice(head.length, name.length - tail.length);
}
