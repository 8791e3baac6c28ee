/**
 * The Docker plugin bridge: resolves a secret's `Driver.Name` to a legacy Docker secret-provider
 * plugin found where dockerd looks (./discovery.ts), activated once per daemon process, so
 * plugins written for Swarm (go-plugins-helpers `secrets`) work unchanged. The whole bridge lives
 * in this folder: the plugin protocol client (./client.ts) and the driver for one plugin
 * (./plugin-driver.ts); secretd loads it as a built-in, by this index.ts.
 */
import type { DriverLog, DriverProvider, DriverSetup, SecretDriver } from '../../src/drivers/types.ts';
import { PluginUnusable } from '../../src/core/errors.ts';
import { PluginCallError, PluginClient } from './client.ts';
import { findPlugin, parseDirList, searchPath, SOCKET_DIRS, SPEC_DIRS, type SearchPath } from './discovery.ts';
import { activate, notImplemented, PluginSecretDriver, SECRET_PROVIDER } from './plugin-driver.ts';

export const NAME = 'docker-plugins';

/** Settings, from `--driver-opt docker-plugins.KEY=VALUE` (`dirs` also from `--plugin-dir`). */
export interface DockerPluginsOptions {
  /** Extra plugin folders, `:`-separated, searched before dockerd's (sockets and spec files). Default none. */
  dirs?: string;
  /** Limit for one plugin call, in milliseconds. Default 30000. */
  timeout?: string;
}

/** For tests: replace dockerd's folders (extra `dirs` are still searched first). */
export interface DockerPluginsDefaults {
  base?: SearchPath;
  timeoutMs?: number;
}

const quiet: DriverLog = { debug() {}, info() {}, warn() {}, error() {} };

interface Activation {
  implements: string[];
  driver: PluginSecretDriver;
}

/** A fresh provider with its own activation cache (the default export is one of these). */
export function createDockerPlugins(defaults: DockerPluginsDefaults = {}): DriverProvider {
  const base = defaults.base ?? { socketDirs: SOCKET_DIRS, specDirs: SPEC_DIRS };
  let path = searchPath([], base);
  let timeoutMs = defaults.timeoutMs ?? 30_000;
  let log = quiet;
  /** One activation per plugin name per process, shared by concurrent callers; failures are not kept. */
  const activations = new Map<string, Promise<Activation | undefined>>();

  async function load(name: string): Promise<Activation | undefined> {
    const address = await findPlugin(name, path);
    if (!address) return undefined;
    let client: PluginClient;
    try {
      client = await PluginClient.create(address, { timeoutMs });
    } catch (e) {
      throw new PluginUnusable(`legacy plugin: ${(e as Error).message}`);
    }
    try {
      const implements_ = await activate(client);
      log.info({ plugin: name, addr: address.addr, implements: implements_ }, 'docker plugin activated');
      return { implements: implements_, driver: new PluginSecretDriver(name, client) };
    } catch (e) {
      // The socket vanished between finding and dialing it: the plugin is gone, not broken.
      if (e instanceof PluginCallError && e.reason === 'gone') return undefined;
      throw new PluginUnusable(`legacy plugin: ${(e as Error).message}`);
    }
  }

  return {
    kind: 'provider',
    name: NAME,

    init(setup: DriverSetup) {
      const opts: DockerPluginsOptions = setup.settings;
      path = searchPath(parseDirList(opts.dirs), base);
      if (opts.timeout !== undefined) {
        const ms = Number(opts.timeout);
        if (!Number.isInteger(ms) || ms <= 0) throw new Error(`${NAME}: timeout must be a positive number of milliseconds, not "${opts.timeout}"`);
        timeoutMs = ms;
      }
      log = setup.log;
    },

    async resolve(name: string): Promise<SecretDriver | undefined> {
      let pending = activations.get(name);
      if (!pending) {
        pending = load(name);
        activations.set(name, pending);
        // Keep successes only: a missing or failing plugin is looked for again next time, as dockerd does.
        const forget = () => activations.delete(name);
        pending.then((a) => {
          if (!a) forget();
        }, forget);
      }
      const activation = await pending;
      if (!activation) return undefined;
      if (!activation.implements.includes(SECRET_PROVIDER)) throw notImplemented(name);
      return activation.driver;
    },

    close() {
      activations.clear();
    },
  };
}

export default createDockerPlugins();
