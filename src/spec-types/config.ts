/** Generated from spec/config.json by `npm run gen:types` (tools/gen-spec-types.ts): edit the schema, not this file. */

/** spec/config.json: The daemon's configuration after flags and defaults are applied; validated once at start-up, then frozen. */
export interface DaemonConfig {
  hosts: string[];
  dataRoot: string;
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'fatal';
  /** json lines for machines (the default), or one readable line per record */
  logFormat: 'json' | 'text';
  /** --request-timeout in ms: a slow or endless request is cut off after it */
  requestTimeoutMs: number;
  /** --keep-versions: versions of a secret's value kept, the current one included */
  keepVersions: number;
  /** --recovery-window in ms: how long a removed secret stays restorable; 0 turns it off */
  recoveryWindowMs: number;
  /** --max-connections: connections each tcp:// listener holds at most (idle ones make room for new ones) */
  maxConnections: number;
  /** initialise a single-node swarm in a data root that never had one */
  swarmInit: boolean;
  /** --driver modules to load after the built-ins: paths or package names */
  drivers: string[];
  /** --driver-opt NAME.KEY=VALUE, by driver name then key (--plugin-dir becomes docker-plugins.dirs) */
  driverSettings: { [key: string]: { [key: string]: string } };
  /** serve /_secretd/v1 (tokens and value delivery) */
  delivery: boolean;
  /** serve the web console at /ui on the tcp:// listeners, which must then all be loopback */
  ui: boolean;
  /** sqlite (the embedded default), or etcd://HOST:PORT[,HOST:PORT...][/PREFIX]: etcd v3 client endpoints and a key prefix (default secretd) */
  store: string;
  /** PEM files for TLS to etcd; empty for plain gRPC */
  etcdTls: {
    ca?: string;
    cert?: string;
    key?: string;
  };
  /** the key-encryption keys file; daemons sharing an etcd use copies of one file */
  keyring: string;
  /** TLS for tcp:// listeners (--tls, --tlsverify); absent for plain TCP */
  tls?: {
    /** require a client certificate signed by ca */
    verify: boolean;
    ca: string;
    cert: string;
    key: string;
  };
  /** allow tcp:// off loopback without client certificates (the loudly named flag) */
  insecureListen: boolean;
  /** keep an audit log (--no-audit turns it off) */
  audit: boolean;
  /** start even though the SQLite store holds less than was acknowledged (--accept-store-loss) */
  acceptStoreLoss?: boolean;
  /** the audit log file: one hash-chained JSON line per change and per delivery */
  auditLog: string;
  /** a module that holds the key-encryption keys instead of the key file */
  kekProvider?: string;
  /** --plugin-listen: the unix socket serving Docker's plugin protocols (secretprovider, VolumeDriver) */
  pluginListen?: string;
  /** --plugin-allow: secret name patterns the plugin socket may hand out; none refuses every plugin request */
  pluginAllow: string[];
}
