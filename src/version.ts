/** What this daemon says it is: its own version and the Docker Engine API it speaks. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from './core/package-root.ts';

const pkg = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string };

export const SECRETD_VERSION = pkg.version;

/** The Engine release whose API we implement; clients see it as the server version. */
export const ENGINE_VERSION = `25.0.0+secretd.${SECRETD_VERSION}`;

export const API_VERSION = '1.44';
export const MIN_API_VERSION = '1.24';

/** Templating in a SecretSpec needs API 1.37 or later. */
export const TEMPLATING_MIN_API = '1.37';

/** Go's versions.Compare: dot-separated numbers, missing parts count as 0. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.');
  const pb = b.split('.');
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = Number.parseInt(pa[i] ?? '0', 10) || 0;
    const y = Number.parseInt(pb[i] ?? '0', 10) || 0;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}
