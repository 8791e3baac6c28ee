/** What is wrong with --plugin-listen / --plugin-allow, as messages naming the flag. */
import { basename } from 'node:path';
import { PATTERN } from '../delivery/tokens.ts';
import type { ParsedFlags } from './flags.ts';

/** dockerd's legacy plugin names: the socket's base name without `.sock`. */
const PLUGIN_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*\.sock$/;

export function pluginProblems(flags: ParsedFlags): string[] {
  const problems: string[] = [];
  const listen = flags['plugin-listen'];
  if (listen !== undefined && !PLUGIN_NAME.test(basename(listen))) {
    problems.push(
      `--plugin-listen ${JSON.stringify(listen)}: use a path ending in NAME.sock (dockerd names the plugin NAME), e.g. /run/docker/plugins/secretd.sock`,
    );
  }
  for (const p of flags['plugin-allow'] ?? []) {
    if (!PATTERN.test(p)) problems.push(`--plugin-allow ${JSON.stringify(p)}: use the characters of secret names and *`);
  }
  if (listen === undefined && flags['plugin-allow']?.length) problems.push('--plugin-allow needs --plugin-listen');
  return problems;
}
