/**
 * The top-level `secrets:` of a compose file, loaded as `docker stack deploy` loads it: YAML
 * parsed for real (anchors, merge keys), `${VAR}` interpolated, the shape checked against
 * spec/compose-secrets.json, then the loader's rules (cli/compose/loader loadFileObjectConfig)
 * with its messages. Other sections are ignored.
 */
import { isAbsolute, join } from 'node:path';
import type { ErrorObject } from 'ajv';
import { parse, YAMLParseError } from 'yaml';
import { SchemaRegistry } from '../schemas.ts';
import type { ComposeSecrets, Secret } from '../spec-types/compose-secrets.ts';
import { interpolateTree } from './interpolate.ts';
import { Failure } from './usage.ts';

/** One entry of `secrets:`, normalized. Exactly one of external, driver, file, environment holds. */
export interface ComposeSecret {
  /** The key under `secrets:`. */
  key: string;
  /** `name:` (or the deprecated `external.name`); for an external secret, the key when absent. */
  name?: string;
  external: boolean;
  /** Absolute: a relative `file:` is taken from the compose file's folder. */
  file?: string;
  environment?: string;
  labels: Record<string, string>;
  driver?: string;
  driverOpts?: Record<string, string>;
  templateDriver?: string;
}

export interface ComposeOptions {
  /** The folder relative `file:` paths start from (the compose file's folder). */
  workingDir: string;
  /** For interpolation; the CLI's own environment. */
  env: NodeJS.ProcessEnv;
  /** Receives the loader's warnings (unset variables, deprecated fields). */
  warn(message: string): void;
}

let registry: SchemaRegistry | undefined;

export function loadComposeSecrets(text: string, options: ComposeOptions): ComposeSecret[] {
  let doc: unknown;
  try {
    doc = parse(text, { merge: true, prettyErrors: true });
  } catch (e) {
    throw new Failure(e instanceof YAMLParseError ? `yaml: ${e.message.split('\n')[0]}` : (e as Error).message);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new Failure('top-level object must be a mapping');
  const top = doc as Record<string, unknown>;
  const section = top.secrets === undefined || top.secrets === null ? {} : interpolateTree(top.secrets, options);
  const checked = { ...(top.version === undefined ? {} : { version: top.version }), secrets: section };
  registry ??= new SchemaRegistry();
  const validate = registry.validator('compose-secrets.json');
  if (!validate(checked)) throw new Failure(describe(validate.errors?.[0]));
  return Object.entries((checked as ComposeSecrets).secrets ?? {}).map(([key, raw]) => normalize(key, raw, options));
}

/** The loader's rules, in its words where it has them. */
function normalize(key: string, raw: Secret, options: ComposeOptions): ComposeSecret {
  const field = (name: string) => (raw[name] === undefined ? undefined : String(raw[name]));
  const secret: ComposeSecret = { key, external: toExternal(key, raw.external), labels: toLabels(raw.labels) };
  const name = field('name');
  if (name !== undefined) secret.name = name;
  if (secret.external) {
    for (const other of ['file', 'environment', 'labels', 'driver', 'driver_opts', 'template_driver']) {
      if (raw[other] !== undefined) throw new Failure(`secrets.${key}: conflicting parameters "external" and "${other}" specified`);
    }
    const legacy = typeof raw.external === 'object' && raw.external !== null ? raw.external.name : undefined;
    if (legacy !== undefined) {
      if (name !== undefined) throw new Failure(`secret ${key}: secret.external.name and secret.name conflict; only use secret.name`);
      options.warn(`secret ${key}: secret.external.name is deprecated in favor of secret.name`);
      secret.name = legacy;
    }
    secret.name ??= key;
    return secret;
  }
  const sources = ['file', 'environment', 'driver'].filter((f) => raw[f] !== undefined);
  if (raw.driver !== undefined && raw.file !== undefined) {
    throw new Failure(`secret ${key}: secret.driver and secret.file conflict; only use secret.driver`);
  }
  if (raw.driver !== undefined && raw.environment !== undefined) {
    throw new Failure(`secret ${key}: secret.driver and secret.environment conflict; only use secret.driver`);
  }
  if (sources.length > 1) throw new Failure(`secret ${key}: secret.file and secret.environment conflict; only use one`);
  if (sources.length === 0) throw new Failure(`secret ${key}: one of file, environment, driver or external is required`);
  const file = field('file');
  if (file !== undefined) secret.file = isAbsolute(file) ? file : join(options.workingDir, file);
  const environment = field('environment');
  if (environment !== undefined) secret.environment = environment;
  const driver = field('driver');
  if (driver !== undefined) secret.driver = driver;
  if (raw.driver_opts !== undefined) {
    if (driver === undefined) throw new Failure(`secret ${key}: driver_opts needs driver`);
    secret.driverOpts = Object.fromEntries(Object.entries(raw.driver_opts).map(([k, v]) => [k, String(v)]));
  }
  const templateDriver = field('template_driver');
  if (templateDriver !== undefined) secret.templateDriver = templateDriver;
  return secret;
}

/** `external:` as true/false, the strings "true"/"false" (after interpolation), or {name}. */
function toExternal(key: string, value: unknown): boolean {
  if (value === undefined) return false;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'object') return true;
  const text = String(value).toLowerCase();
  if (text === 'true' || text === 'false') return text === 'true';
  throw new Failure(`secrets.${key}.external must be a boolean`);
}

/** A labels mapping (values stringified, null as "") or a list of KEY=VALUE strings. */
function toLabels(value: unknown): Record<string, string> {
  const labels: Record<string, string> = {};
  const set = (k: string, v: string) => Object.defineProperty(labels, k, { value: v, enumerable: true, writable: true, configurable: true });
  if (Array.isArray(value)) {
    for (const item of value as string[]) {
      const at = item.indexOf('=');
      set(at < 0 ? item : item.slice(0, at), at < 0 ? '' : item.slice(at + 1));
    }
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) set(k, v === null ? '' : String(v));
  }
  return labels;
}

/** A schema failure in the docker CLI's style: "secrets.db Additional property fil is not allowed". */
function describe(e: ErrorObject | undefined): string {
  if (!e) return 'invalid compose file';
  const path = e.instancePath
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .join('.');
  const at = path || '(root)';
  if (e.keyword === 'additionalProperties')
    return `${at} Additional property ${(e.params as { additionalProperty: string }).additionalProperty} is not allowed`;
  if (e.keyword === 'type') {
    const types = ([] as string[]).concat((e.params as { type: string | string[] }).type).map((t) => (t === 'object' ? 'mapping' : t === 'array' ? 'list' : t));
    return `${at} must be a ${types.length > 1 ? `${types.slice(0, -1).join(', ')} or ${types.at(-1)}` : types[0]}`;
  }
  return `${at} ${e.message ?? 'is invalid'}`;
}
