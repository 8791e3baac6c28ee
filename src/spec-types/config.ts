/** Generated from spec/config.json by `npm run gen:types` (tools/gen-spec-types.ts): edit the schema, not this file. */

/**
 * spec/config.json: The daemon's configuration after flags and defaults are applied; validated once
 * at start-up, then frozen. Each `default` is the one place a setting's default is stated:
 * src/daemon/config.ts applies it and --help shows it.
 */
export interface DaemonConfig {
  hosts: string[];
  dataRoot: string;
  /** @default "info" */
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'fatal';
  /**
   * json lines for machines, or one readable line per record
   * @default "json"
   */
  logFormat: 'json' | 'text';
  /**
   * --request-timeout in ms: a slow or endless request is cut off after it
   * @default 60000
   */
  requestTimeoutMs: number;
  /**
   * --keep-versions: versions of a secret's value kept, the current one included (by default as many as Vault's KV engine keeps)
   * @default 10
   */
  keepVersions: number;
  /**
   * --recovery-window in ms: how long a removed secret stays restorable; 0 turns it off
   * @default 0
   */
  recoveryWindowMs: number;
  /**
   * --max-connections: connections each listener holds at most (idle ones make room for new ones)
   * @default 1024
   */
  maxConnections: number;
  /**
   * initialise a single-node swarm in a data root that never had one
   * @default true
   */
  swarmInit: boolean;
  /** --driver modules to load after the built-ins: paths or package names */
  drivers: string[];
  /** --driver-opt NAME.KEY=VALUE, by driver name then key (--plugin-dir becomes docker-plugins.dirs) */
  driverSettings: { [key: string]: { [key: string]: string } };
  /**
   * serve /_secretd/v1 (tokens and value delivery)
   * @default false
   */
  delivery: boolean;
  /**
   * serve the web console at /ui on the tcp:// listeners, which must then all be loopback
   * @default false
   */
  ui: boolean;
  /**
   * sqlite (the embedded store), or etcd://HOST:PORT[,HOST:PORT...][/PREFIX]: etcd v3 client endpoints and a key prefix (default secretd)
   * @default "sqlite"
   */
  store: string;
  /** PEM files (absolute paths) for TLS to etcd; empty for plain gRPC */
  etcdTls: {
    ca?: string;
    cert?: string;
    key?: string;
  };
  /** the key-encryption keys file (an absolute path); daemons sharing an etcd use copies of one file */
  keyring: string;
  /** TLS for tcp:// listeners (--tls, --tlsverify); absent for plain TCP */
  tls?: {
    /** require a client certificate signed by ca */
    verify: boolean;
    ca: string;
    cert: string;
    key: string;
  };
  /**
   * allow tcp:// off loopback without client certificates (the loudly named flag)
   * @default false
   */
  insecureListen: boolean;
  /**
   * keep an audit log (--no-audit turns it off)
   * @default true
   */
  audit: boolean;
  /** start even though the SQLite store holds less than was acknowledged (--accept-store-loss) */
  acceptStoreLoss?: boolean;
  /** the audit log file (an absolute path): one hash-chained JSON line per change and per delivery */
  auditLog: string;
  /** --kek-provider: a module (path or package) that holds the key-encryption keys; absent for the built-in key file */
  kekProvider?: string;
  /** --plugin-listen: the unix socket serving Docker's plugin protocols (secretprovider, VolumeDriver) */
  pluginListen?: string;
  /** --plugin-allow: secret name patterns the plugin socket may hand out; none refuses every plugin request */
  pluginAllow: string[];
}

/** The `default` of each property of config.json that has one. */
export const DaemonConfigDefaults = {
  logLevel: 'info',
  logFormat: 'json',
  requestTimeoutMs: 60000,
  keepVersions: 10,
  recoveryWindowMs: 0,
  maxConnections: 1024,
  swarmInit: true,
  delivery: false,
  ui: false,
  store: 'sqlite',
  insecureListen: false,
  audit: true,
} as const satisfies Partial<DaemonConfig>;
