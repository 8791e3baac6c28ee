/**
 * secretd as a Docker plugin (--plugin-listen, --plugin-allow): the socket, the secret provider
 * and the volume driver over one data root, started after the core is open and stopped before
 * it closes. Mounted volumes follow rotations: at once for one made on this daemon (the core's
 * `valueChanged`), and within REFRESH_MS for one made through another daemon on a shared store.
 */
import type { Logger } from 'pino';
import type { Peer } from '../audit/events.ts';
import type { ValueResolver } from '../delivery/resolve-value.ts';
import type { Acted } from '../secrets/versions.ts';
import type { Store } from '../store/types.ts';
import type { SchemaRegistry } from '../schemas.ts';
import { getSecretHandler } from './secret-provider.ts';
import { pluginName, startPluginServer, type PluginServer } from './server.ts';
import { currentValues, volumeHandlers, volumeResolver } from './volume-driver.ts';
import { Volumes } from './volumes.ts';

export interface PluginConfig {
  socket: string;
  allow: readonly string[];
  dataRoot: string;
}

/** What the plugin uses of the core: the one resolution path, the store's metadata, the rotation news. */
export interface PluginCore {
  resolver: ValueResolver;
  store: Store;
  valueChanged: Set<(secret: Acted) => void>;
}

/** How often mounted volumes are compared with the store (a few small metadata queries). */
const REFRESH_MS = 2000;

export async function startPlugin(c: PluginConfig, core: PluginCore, schemas: SchemaRegistry, log: Logger): Promise<PluginServer> {
  const { resolver } = core;
  const name = pluginName(c.socket);
  const peer: Peer = { transport: 'unix', socket: c.socket };
  const plog = log.child({ plugin: name });
  const volumes = await Volumes.open(c.dataRoot, volumeResolver(resolver, c.allow, peer), currentValues(core.store, c.allow), {
    info: (fields, message) => plog.info(fields, message),
    warn: (fields, message) => plog.warn(fields, message),
  });
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
  const changed = (secret: Acted) => void volumes.check(secret.name);
  core.valueChanged.add(changed);
  const timer = setInterval(() => void volumes.check(), REFRESH_MS);
  timer.unref();
  return {
    ...server,
    stop: async () => {
      clearInterval(timer);
      core.valueChanged.delete(changed);
      await server.stop();
      await volumes.stop();
    },
  };
}
