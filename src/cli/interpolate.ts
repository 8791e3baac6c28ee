/**
 * Compose variable interpolation in string values: `$VAR`, `${VAR}`, `${VAR:-default}`,
 * `${VAR-default}`, `${VAR:?message}`, `${VAR?message}` and `$$` for a literal `$`, with the
 * docker CLI's messages (cli/compose/template). An unset variable without a default becomes ""
 * and a warning.
 */
import { Failure } from './usage.ts';

const NAME = '[_a-zA-Z][_a-zA-Z0-9]*';
// $$ | $NAME | ${NAME} | ${NAME<op><word>} | ${…anything else: invalid}
const PATTERN = new RegExp(`\\$(?:(\\$)|(${NAME})|\\{(${NAME})(?:(:?[-?])([^}]*))?\\}|(\\{[^}]*\\}?))`, 'g');

export interface Interpolation {
  env: NodeJS.ProcessEnv;
  /** Called once per unset variable used without a default. */
  warn(message: string): void;
}

export function interpolateString(text: string, { env, warn }: Interpolation): string {
  return text.replace(PATTERN, (_whole, dollar?: string, bare?: string, braced?: string, op?: string, word?: string, invalid?: string) => {
    if (dollar) return '$';
    if (invalid !== undefined) throw new Failure(`Invalid template: ${JSON.stringify(text)}`);
    const name = (bare ?? braced)!;
    const value = env[name];
    const unset = value === undefined;
    const empty = unset || value === '';
    switch (op) {
      case ':-':
        return empty ? word! : value!;
      case '-':
        return unset ? word! : value!;
      case ':?':
      case '?':
        if (op === ':?' ? empty : unset) throw new Failure(`required variable ${name} is missing a value${word ? `: ${word}` : ''}`);
        return value!;
      default:
        if (unset) {
          warn(`The ${JSON.stringify(name)} variable is not set. Defaulting to a blank string.`);
          return '';
        }
        return value;
    }
  });
}

/** Interpolates every string value (never a key) of a parsed YAML tree. */
export function interpolateTree(value: unknown, options: Interpolation): unknown {
  if (typeof value === 'string') return interpolateString(value, options);
  if (Array.isArray(value)) return value.map((v) => interpolateTree(v, options));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolateTree(v, options)]));
  }
  return value;
}
