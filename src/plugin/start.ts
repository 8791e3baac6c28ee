/**
 * secretd as a Docker plugin (--plugin-listen, --plugin-allow): the socket, the secret provider
 * and the volume driver over one data root, started after the core is open and stopped before
 * it closes.
 */
import type { Logger } from 'pino';
import type { Peer } from '../audit/events.ts';
import type { ValueResolver } from '../delivery/resolve-value.ts';
import type { SchemaRegistry } from '../schemas.ts';
import { getSecretHandler } from './secret-provider.ts';
import { pluginName, startPluginServer, type PluginServer } from './server.ts';
import { volumeHandlers, volumeResolver } from './volume-driver.ts';
import { Volumes } from './volumes.ts';

export interface PluginConfig {
  socket: string;
  allow: readonly string[];
  dataRoot: string;
}

export async function startPlugin(c: PluginConfig, resolver: ValueResolver, schemas: SchemaRegistry, log: Logger): Promise<PluginServer> {
  const name = pluginName(c.socket);
  const peer: Peer = { transport: 'unix', socket: c.socket };
  const plog = log.child({ plugin: name });
  const volumes = await Volumes.open(c.dataRoot, volumeResolver(resolver, c.allow, peer), (fields, message) => plog.warn(fields, message));
  const refusal =
    c.allow.length === 0 ? `secretd serves no secrets on this plugin socket: start it with --plugin-allow PATTERN (e.g. --plugin-allow 'app.*')` : undefined;
  if (refusal) plog.warn('--plugin-listen without --plugin-allow: every plugin request is refused');
  const server = await startPluginServer({
    socket: c.socket,
    implements: ['secretprovider', 'VolumeDriver'],
    handlers: {
      'SecretProvider.GetSecret': getSecretHandler(resolver, c.allow, peer, schemas),
      ...volumeHandlers(volumes, schemas),
    },
    ...(refusal ? { refusal } : {}),
    onError: (fields, message) => plog.error(fields, message),
  });
  plog.info({ socket: c.socket, allow: c.allow }, 'serving Docker plugin protocols (secretprovider, VolumeDriver)');
  return server;
}
