/**
 * A secret driver backed by one legacy Docker plugin: the `Plugin.Activate` handshake and
 * `SecretProvider.GetSecret`, with swarmkit's rules for the request (`manager/drivers/secrets.go`)
 * and for the value it accepts back.
 */
import { DriverFailed, PluginUnusable } from '../../src/core/errors.ts';
import { MAX_VALUE_BYTES } from '../../src/drivers/kit.ts';
import type { EndpointSpec, SecretDriver, SecretRequest, SecretValue } from '../../src/drivers/types.ts';
import { PluginCallError, type PluginClient } from './client.ts';
import { goField } from './discovery.ts';

/** The capability a secret provider lists in `Implements`. */
export const SECRET_PROVIDER = 'secretprovider';
/** swarmkit calls it with the leading slash, so dockerd's errors read `/SecretProvider.GetSecret: …`. */
export const GET_SECRET = '/SecretProvider.GetSecret';

/**
 * Sends `Plugin.Activate` and returns the plugin's `Implements` list. Failures are PluginCallErrors
 * (the caller decides whether a vanished socket means "not found").
 */
export async function activate(client: PluginClient): Promise<string[]> {
  const reply = await client.call('Plugin.Activate');
  const list = typeof reply === 'object' && reply !== null ? goField(reply, 'Implements') : undefined;
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list) || !list.every((x) => typeof x === 'string')) {
    throw new PluginCallError('Plugin.Activate: "Implements" is not a list of strings', 'reply');
  }
  return list;
}

/** dockerd v25's error for a plugin that does not list the capability (the comparison is exact). */
export function notImplemented(name: string, capability = SECRET_PROVIDER): PluginUnusable {
  return new PluginUnusable(`legacy plugin: Plugin does not implement the requested driver: plugin="${name}", requested implementation="${capability}"`);
}

export class PluginSecretDriver implements SecretDriver {
  readonly kind = 'secret' as const;

  readonly name: string;
  private readonly client: PluginClient;
  constructor(name: string, client: PluginClient) {
    this.name = name;
    this.client = client;
  }

  async get(request: SecretRequest): Promise<SecretValue> {
    let reply: unknown;
    try {
      reply = await this.client.call(GET_SECRET, getSecretBody(request));
    } catch (e) {
      throw new DriverFailed(this.name, (e as Error).message, { cause: e });
    }
    return this.readReply(reply);
  }

  private readReply(reply: unknown): SecretValue {
    const fail = (why: string) => new DriverFailed(this.name, `${GET_SECRET}: ${why}`);
    if (typeof reply !== 'object' || reply === null || Array.isArray(reply)) throw fail('the reply is not a JSON object');
    const err = goField(reply, 'Err');
    if (err !== undefined && err !== null && typeof err !== 'string') throw fail('"Err" is not a string');
    if (err) throw new DriverFailed(this.name, err);
    const dnr = goField(reply, 'DoNotReuse');
    if (dnr !== undefined && dnr !== null && typeof dnr !== 'boolean') throw fail('"DoNotReuse" is not a boolean');
    const encoded = goField(reply, 'Value');
    if (encoded !== undefined && encoded !== null && typeof encoded !== 'string') throw fail('"Value" is not a base64 string');
    const value = decodeStdBase64(encoded ?? '');
    if (value === undefined) throw fail('"Value" is not standard base64');
    if (value.length === 0 || value.length > MAX_VALUE_BYTES) {
      // The length only: an error never carries the value.
      throw fail(`the plugin returned ${value.length} bytes; a secret value must be larger than 0 and less than ${MAX_VALUE_BYTES + 1} bytes`);
    }
    return dnr ? { value, doNotReuse: true } : { value };
  }
}

/**
 * The GetSecret body: the request's fields as swarmkit names them, all `omitempty` as Go encodes
 * them (no empty strings, maps, lists or zero numbers), and never `Options` (Docker does not send them).
 */
export function getSecretBody(request: SecretRequest): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  const strings = ['SecretName', 'ServiceHostname', 'ServiceID', 'ServiceName', 'TaskID', 'TaskName', 'TaskImage', 'NodeID'] as const;
  const maps = ['SecretLabels', 'ServiceLabels'] as const;
  // Go writes struct fields in declaration order; keep swarmkit's order for byte-identical bodies.
  const order = [
    'SecretName',
    'SecretLabels',
    'ServiceHostname',
    'ServiceID',
    'ServiceName',
    'ServiceLabels',
    'TaskID',
    'TaskName',
    'TaskImage',
    'NodeID',
    'ServiceEndpointSpec',
  ];
  for (const key of order) {
    if ((strings as readonly string[]).includes(key)) {
      const v = request[key as (typeof strings)[number]];
      if (v) body[key] = v;
    } else if ((maps as readonly string[]).includes(key)) {
      const v = request[key as (typeof maps)[number]];
      if (v && Object.keys(v).length > 0) body[key] = v;
    } else if (request.ServiceEndpointSpec) {
      body[key] = endpointBody(request.ServiceEndpointSpec);
    }
  }
  return body;
}

function endpointBody(spec: EndpointSpec): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (spec.Mode) out.Mode = spec.Mode;
  const ports = (spec.Ports ?? []).map((p) => {
    const port: Record<string, unknown> = {};
    if (p.Name) port.Name = p.Name;
    if (p.Protocol) port.Protocol = p.Protocol;
    if (p.TargetPort) port.TargetPort = p.TargetPort;
    if (p.PublishedPort) port.PublishedPort = p.PublishedPort;
    if (p.PublishMode) port.PublishMode = p.PublishMode;
    return port;
  });
  if (ports.length > 0) out.Ports = ports;
  return out;
}

/** Go's `[]byte` JSON decoding: standard alphabet, padded (line breaks ignored, as Go does). */
function decodeStdBase64(text: string): Uint8Array | undefined {
  const s = text.replace(/[\r\n]/g, '');
  if (s.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) return undefined;
  return new Uint8Array(Buffer.from(s, 'base64'));
}
