/**
 * The daemon's entry: flags → config → daemon; prints where it listens and the DOCKER_HOST
 * line; SIGTERM/SIGINT stop it gracefully (exit 0). Resolves with the exit code.
 */
import { DriverLoadError } from '../drivers/load.ts';
import { ListenError } from '../http/listen.ts';
import { TlsConfigError } from '../http/tls.ts';
import { SchemaRegistry } from '../schemas.ts';
import { isSecretdError } from '../secrets/errors.ts';
import { API_VERSION, SECRETD_VERSION } from '../version.ts';
import { buildConfig, ConfigError } from './config.ts';
import { helpText, parseFlags } from './flags.ts';
import { DataRootBusy } from './lock.ts';
import { StartRefused } from './start-refused.ts';
import { createLogger } from './log.ts';
import { startDaemon } from './lifecycle.ts';

export function runDaemon(argv: string[]): Promise<number> {
  return main(argv).catch((e) => {
    const known =
      e instanceof ConfigError ||
      e instanceof DataRootBusy ||
      e instanceof ListenError ||
      e instanceof TlsConfigError ||
      e instanceof DriverLoadError ||
      e instanceof StartRefused || // keys, store damage, lock, full disk: one line naming the fix
      isSecretdError(e); // the store could not be reached
    process.stderr.write(`secretd: ${known ? (e as Error).message : ((e as Error).stack ?? String(e))}\n`);
    return 1;
  });
}

async function main(argv: string[]): Promise<number> {
  let flags;
  try {
    flags = parseFlags(argv);
  } catch (e) {
    process.stderr.write(`secretd: ${(e as Error).message}\nSee 'secretd --help'.\n`);
    return 2;
  }
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
  const log = createLogger(config.logLevel);
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
