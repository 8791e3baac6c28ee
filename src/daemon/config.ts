/** Flags and defaults become one validated, frozen Config (shape: spec/config.json). */
import { resolve } from 'node:path';
import type { SchemaRegistry } from '../schemas.ts';
import { driverSettings, type ParsedFlags } from './flags.ts';
import { defaultDataRoot, defaultHost } from './paths.ts';

export interface Config {
  readonly hosts: readonly string[];
  readonly dataRoot: string;
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error' | 'fatal';
  readonly swarmInit: boolean;
  readonly drivers: readonly string[];
  readonly driverSettings: Readonly<Record<string, Readonly<Record<string, string>>>>;
  readonly delivery: boolean;
}

export class ConfigError extends Error {}

function settingsOf(flags: ParsedFlags): Record<string, Record<string, string>> {
  let settings;
  try {
    settings = driverSettings(flags['driver-opt']);
  } catch (e) {
    throw new ConfigError((e as Error).message);
  }
  if (flags['plugin-dir']?.length) {
    const dirs = flags['plugin-dir'].map((d) => resolve(d));
    const own = settings['docker-plugins']?.dirs;
    (settings['docker-plugins'] ??= Object.create(null) as Record<string, string>).dirs = [...dirs, ...(own ? [own] : [])].join(':');
  }
  return settings;
}

export function buildConfig(flags: ParsedFlags, schemas: SchemaRegistry): Config {
  const config = {
    hosts: flags.host?.length ? flags.host : [defaultHost()],
    dataRoot: resolve(flags['data-root'] ?? defaultDataRoot()),
    logLevel: flags['log-level'] ?? 'info',
    swarmInit: !flags['no-swarm-init'],
    drivers: flags.driver ?? [],
    driverSettings: settingsOf(flags),
    delivery: flags.delivery === true,
  };
  const hosts = config.hosts;
  const validate = schemas.validator('config.json');
  if (!validate(config)) {
    const problems = (validate.errors ?? []).map((e) => {
      const at = e.instancePath.replace(/^\/hosts\/\d+$/, '--host').replace('/logLevel', '--log-level').replace('/dataRoot', '--data-root');
      const value = e.instancePath.startsWith('/hosts/') ? ` (${hosts[Number(e.instancePath.split('/')[2])]})` : '';
      return `${at}${value}: ${e.message}${e.keyword === 'pattern' ? ': use unix:///path or tcp://HOST:PORT' : ''}`;
    });
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  return Object.freeze({ ...config, hosts: Object.freeze([...config.hosts]), drivers: Object.freeze([...config.drivers]) }) as Config;
}
