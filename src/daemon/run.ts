/**
 * The daemon's entry: flags → config → daemon; prints where it listens and the DOCKER_HOST
 * line; SIGTERM/SIGINT stop it gracefully (exit 0). Resolves with the exit code.
 */
import { SchemaRegistry } from '../schemas.ts';
import { isSecretdError } from '../core/errors.ts';
import { API_VERSION, SECRETD_VERSION } from '../version.ts';
import { buildConfig, type Config } from './config.ts';
import { FlagError, helpText, parseFlags } from './flags.ts';
import { createLogger } from './log.ts';
import { boundHeapGrowth } from './heap.ts';
import { startDaemon } from './lifecycle.ts';
import { startupFailure } from './startup-failure.ts';

/**
 * Any failure before the daemon serves is one line on stderr (src/daemon/startup-failure.ts):
 * exit 2 for a command line that does not parse, 1 for the rest. A stack is printed only for
 * an error outside the branded family (a bug) and only at --log-level debug.
 */
export async function runDaemon(argv: string[]): Promise<number> {
  let config: Config | undefined;
  try {
    return await main(argv, (c) => (config = c));
  } catch (e) {
    process.stderr.write(`secretd: ${startupFailure(e, config)}\n`);
    if (config?.logLevel === 'debug' && !isSecretdError(e) && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
    return e instanceof FlagError ? 2 : 1;
  }
}

async function main(argv: string[], configured: (config: Config) => void): Promise<number> {
  const flags = parseFlags(argv);
  if (flags.help) {
    process.stdout.write(helpText());
    return 0;
  }
  if (flags.version) {
    process.stdout.write(`secretd ${SECRETD_VERSION} (Docker Engine API ${API_VERSION})\n`);
    return 0;
  }
  const schemas = new SchemaRegistry();
  const config = buildConfig(flags, schemas);
  configured(config);
  const log = createLogger(config.logLevel, config.logFormat);
  boundHeapGrowth();
  const daemon = await startDaemon(config, schemas, log);
  log.info({ addresses: daemon.addresses, dataRoot: config.dataRoot }, 'listening');
  process.stdout.write(
    [
      `secretd ${SECRETD_VERSION} (Docker Engine API ${API_VERSION}) listening on ${daemon.addresses.join(', ')}`,
      `data root: ${config.dataRoot}`,
      `store: ${config.store}`,
      'Point the docker CLI, dockerode or docker-py at it with:',
      `  export DOCKER_HOST=${daemon.addresses[0]}`,
      ...(daemon.tlsAddresses.length === 0
        ? []
        : [
            config.tls?.verify
              ? 'or over TLS, with a folder holding the CA (ca.pem) and a client certificate it signed (cert.pem, key.pem):'
              : 'or over TLS (no client certificate needed; DOCKER_CERT_PATH holds the CA as ca.pem):',
            `  export DOCKER_HOST=${daemon.tlsAddresses[0]} DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=DIR`,
          ]),
      ...(daemon.plugin ? [`Docker plugin "${daemon.plugin.name}" (secretprovider, VolumeDriver) on ${daemon.plugin.socket}`] : []),
      ...(config.ui
        ? daemon.addresses
            .filter((a) => a.startsWith('tcp://'))
            .map((a) => `Web console: ${daemon.tlsAddresses.includes(a) ? 'https' : 'http'}://${a.slice('tcp://'.length)}/ui`)
        : []),
      '',
    ].join('\n'),
  );
  await new Promise<void>((resolve) => {
    let stopping = false;
    const onSignal = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'stopping');
      daemon.stop().then(resolve, (e) => {
        log.error({ err: (e as Error).message }, 'stop failed');
        resolve();
      });
    };
    // `on`, not `once`: tsx exits the process itself when a signal finds no listener left.
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  return 0;
}
