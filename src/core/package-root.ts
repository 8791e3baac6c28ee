/**
 * Where secretd's own files are (package.json, spec/, drivers/), found from this module's place:
 * in the checkout it is src/core/, in the build (dist/, `npm run build`) a chunk at the top of
 * dist/. Walking up to the package.json named secretd serves both, and any depth a bundler picks.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'secretd') return dir;
    if (dirname(dir) === dir) throw new Error(`secretd's package.json is not in any folder above ${from}`);
  }
}

export const PACKAGE_ROOT = findRoot(dirname(fileURLToPath(import.meta.url)));

/** The build's folder: the daemon runs from it, as plain JavaScript, when it holds a current build. */
export const BUILD_DIR = join(PACKAGE_ROOT, 'dist');

/** True when this code is the build (dist/), not the TypeScript sources. */
export const RUNNING_BUILT = fileURLToPath(import.meta.url).startsWith(BUILD_DIR + sep);
