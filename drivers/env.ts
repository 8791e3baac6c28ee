/**
 * The `env` secret driver: a secret's value is one of the daemon's environment variables, read at
 * each use. Only variables the operator allow-lists (`--driver-opt env.allow=DB_PASSWORD,APP_*`)
 * can be read, so an API client cannot fish for PATH, HOME or the daemon's own keys; with no
 * allow-list the driver refuses everything.
 */
import { checkKeys, driverError as fail, MAX_VALUE_BYTES } from '../src/drivers/kit.ts';
import type { DriverSetup, SecretDriver, SecretRequest, SecretValue, StringMap } from '../src/drivers/types.ts';

export const ENV_DRIVER = 'env';

/** The operator's settings: `--driver-opt env.KEY=VALUE`. */
export interface EnvSettings {
  /**
   * Comma-separated variable names (`DB_PASSWORD`) or prefix globs (`APP_*`) that may be read.
   * Default: none, so every secret is refused. A bare `*` is refused: list prefixes instead.
   */
  allow?: string;
}

/** A secret's `Driver.Options` (untrusted: they come from the API client). */
export interface EnvOptions {
  /** The variable to read. Default: the secret's name. */
  name?: string;
}

const VARIABLE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const PREFIX_GLOB = /^[A-Za-z_][A-Za-z0-9_]*\*$/;
const SETTING_KEYS = ['allow'];
const OPTION_KEYS = ['name'];

/** What `allow` parses to: exact names and name prefixes. */
interface AllowList {
  names: Set<string>;
  prefixes: string[];
}

/** A fresh driver that allows nothing until `init` (the default export is one; tests make their own). */
export function createEnvDriver(): SecretDriver {
  let allow: AllowList = { names: new Set(), prefixes: [] };

  return {
    name: ENV_DRIVER,
    kind: 'secret',

    init(setup: DriverSetup): void {
      allow = parseSettings(setup.settings);
    },

    validate(options: StringMap, secret: { name: string }): void {
      checkKeys('option', options, OPTION_KEYS);
      checkAllowed(allow, options.name ?? secret.name);
    },

    get(request: SecretRequest): SecretValue {
      const options = request.Options ?? {};
      checkKeys('option', options, OPTION_KEYS);
      const name = checkAllowed(allow, options.name ?? request.SecretName);
      const value = process.env[name];
      if (value === undefined) throw fail(`variable ${name} is not set in the daemon's environment`);
      if (value === '') throw fail(`variable ${name} is empty`);
      const bytes = Buffer.from(value, 'utf8');
      if (bytes.length > MAX_VALUE_BYTES) throw fail(`variable ${name} is larger than ${MAX_VALUE_BYTES} bytes`);
      return { value: new Uint8Array(bytes) };
    },
  };
}

const driver: SecretDriver = createEnvDriver();
export default driver;

// --- helpers -------------------------------------------------------------------------------------

function parseSettings(settings: StringMap): AllowList {
  checkKeys('setting', settings, SETTING_KEYS);
  const list: AllowList = { names: new Set(), prefixes: [] };
  for (const raw of (settings.allow ?? '').split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    if (VARIABLE.test(entry)) list.names.add(entry);
    else if (PREFIX_GLOB.test(entry)) list.prefixes.push(entry.slice(0, -1));
    else if (entry === '*') throw fail('setting "allow": a bare * would expose the whole environment; list names or PREFIX_* globs');
    else throw fail(`setting "allow": ${JSON.stringify(entry)} is neither a variable name nor a PREFIX_* glob`);
  }
  return list;
}

/** Returns `name` when it is a variable name the allow-list covers; throws otherwise. */
function checkAllowed(allow: AllowList, name: string): string {
  if (allow.names.size === 0 && allow.prefixes.length === 0) {
    throw fail('no variable is allowed: start secretd with --driver-opt env.allow=NAME,PREFIX_*');
  }
  if (typeof name !== 'string' || !VARIABLE.test(name)) {
    throw fail(`${JSON.stringify(String(name).slice(0, 100))} is not a variable name (letters, digits, _; set option "name")`);
  }
  if (allow.names.has(name) || allow.prefixes.some((p) => name.startsWith(p))) return name;
  throw fail(`variable ${name} is not allowed (see --driver-opt env.allow)`);
}
