/**
 * The driver plugin interface: the whole contract between secretd and a driver module.
 *
 * A driver module default-exports one driver object. Three kinds exist:
 * - a **secret driver** (`kind: 'secret'`) supplies the value of a secret whose spec names it
 *   in `Driver.Name`, as a Docker secret-provider plugin does;
 * - a **templating driver** (`kind: 'templating'`) renders a secret's bytes for a task, for a
 *   secret whose spec names it in `Templating.Name` (Swarm has one: `golang`);
 * - a **driver provider** (`kind: 'provider'`) resolves secret-driver names on demand; the Docker
 *   plugin bridge (drivers/docker-plugins/) is one, finding plugins the way dockerd does.
 *
 * Every hook may be synchronous or return a promise. Throw a plain Error to refuse: its message
 * reaches the client (never put a secret value in it).
 */

/** The `Driver.Options` / `Templating.Options` of a spec, and the settings a driver is given at start. */
export type StringMap = Record<string, string>;

/** `ServiceEndpointSpec` as swarmkit sends it to a plugin (enums are Go int32 values). */
export interface EndpointSpec {
  Mode?: number;
  Ports?: { Name?: string; Protocol?: number; TargetPort?: number; PublishedPort?: number; PublishMode?: number }[];
}

/**
 * What a secret driver is asked for: the fields of Docker's `SecretProvider.GetSecret` request
 * (swarmkit `manager/drivers/secrets.go`), in the same names, plus `Options`. Every task field
 * is absent when the value is wanted outside a task (for instance `secretd get` without context).
 */
export interface SecretRequest {
  SecretName: string;
  SecretLabels: StringMap;
  ServiceHostname?: string;
  ServiceID?: string;
  ServiceName?: string;
  ServiceLabels?: StringMap;
  TaskID?: string;
  TaskName?: string;
  TaskImage?: string;
  NodeID?: string;
  ServiceEndpointSpec?: EndpointSpec;
  /** The secret's `Driver.Options`. Docker never sends these to a plugin; in-process drivers get them. */
  Options: StringMap;
}

/** A secret driver's answer, as Docker's `GetSecret` response: the bytes and `DoNotReuse`. */
export interface SecretValue {
  value: Uint8Array;
  /** True when each task must get its own value (a fresh credential per task). */
  doNotReuse?: boolean;
}

/** A secret as the create/delete hooks see it (metadata; the value only where stated). */
export interface SecretInfo {
  id: string;
  name: string;
  labels: StringMap;
  options: StringMap;
}

/** Given once, at daemon start, to a driver's `init`. */
export interface DriverSetup {
  /** This driver's `--driver-opt NAME.KEY=VALUE` settings, by KEY. */
  settings: StringMap;
  /** The daemon's data root (a driver may keep its own state below `drivers/NAME/`). */
  dataRoot: string;
  /** Structured logger; never log a value. */
  log: DriverLog;
}

export interface DriverLog {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

interface DriverBase {
  /** The name specs refer to: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`, unique among loaded drivers. */
  readonly name: string;
  /** Called once at start, before any other hook. Throw to stop the daemon with your message. */
  init?(setup: DriverSetup): void | Promise<void>;
  /** Called once at stop. */
  close?(): void | Promise<void>;
}

export interface SecretDriver extends DriverBase {
  readonly kind: 'secret';
  /**
   * Called at create with `Driver.Options` and the secret's name and labels; throw to refuse the
   * secret (a 400 with your message). Check here what `get` would refuse anyway.
   */
  validate?(options: StringMap, secret: { name: string; labels: StringMap }): void | Promise<void>;
  /** The value for one use of the secret. Must be 1 to 511999 bytes (swarmkit's rule). */
  get(request: SecretRequest): SecretValue | Promise<SecretValue>;
  /**
   * For a writable store: called at create with the request's `Data` (when it has some), before
   * secretd records the secret; throw to refuse the create. A driver with this hook owns the
   * value: secretd does not keep a copy.
   */
  store?(secret: SecretInfo, data: Uint8Array): void | Promise<void>;
  /** Told after a secret naming this driver was removed. Errors are logged, not returned. */
  removed?(secret: SecretInfo): void | Promise<void>;
}

/** The task a value is rendered for: swarmkit's template context (`template/context.go`). */
export interface TemplateContext {
  Service: { ID: string; Name: string; Labels: StringMap };
  Node: { ID: string; Hostname: string; Platform: { OS: string; Architecture: string } };
  Task: { ID: string; Name: string; Slot: string };
}

/** The template functions that reach outside the template (Swarm's `env`, `secret`, `config`). */
export interface TemplateFunctions {
  /** The task's environment value, or '' when unset. */
  env(name: string): string;
  /** The value of another secret the task references, by its target name; throws if none. */
  secret(target: string): Promise<Uint8Array>;
  /** The same for configs; secretd holds no configs, so this always throws `config target … not found`. */
  config(target: string): Promise<Uint8Array>;
}

export interface RenderRequest {
  /** The secret being rendered (its name shows in error messages). */
  secretId: string;
  secretName: string;
  context: TemplateContext;
  functions: TemplateFunctions;
  /** The secret's `Templating.Options`. */
  options: StringMap;
}

export interface TemplatingDriver extends DriverBase {
  readonly kind: 'templating';
  /** Renders `template` (the secret's bytes). Throw with a message naming the line on a template error. */
  render(template: Uint8Array, request: RenderRequest): Uint8Array | Promise<Uint8Array>;
}

export interface DriverProvider extends DriverBase {
  readonly kind: 'provider';
  /** The secret driver called `name`, if this provider can supply one; undefined otherwise. */
  resolve(name: string): SecretDriver | undefined | Promise<SecretDriver | undefined>;
}

export type Driver = SecretDriver | TemplatingDriver | DriverProvider;
