/**
 * TypeScript for a `--driver` or `--kek-provider` module when the daemon runs from its build
 * (plain JavaScript, no tsx loaded): tsx's require and import hooks are registered the first time
 * such a module is imported, not at start, so a daemon without one pays nothing for them. Both
 * hooks: a `.ts` file in a folder without package.json is CommonJS by Node's rules, which only
 * the require hook compiles. From the sources, tsx's hooks are in place already.
 */
import { join } from 'node:path';
import { PACKAGE_ROOT, RUNNING_BUILT } from '../core/package-root.ts';

let registered: Promise<void> | undefined;

export function typeScriptLoaded(): Promise<void> {
  if (!RUNNING_BUILT) return Promise.resolve();
  registered ??= (async () => {
    const [cjs, esm] = await Promise.all([import('tsx/cjs/api'), import('tsx/esm/api')]);
    const tsconfig = join(PACKAGE_ROOT, 'tsconfig.json');
    const inherited = process.env.TSX_TSCONFIG_PATH;
    process.env.TSX_TSCONFIG_PATH = tsconfig; // the require hook reads it when registered
    cjs.register();
    esm.register({ tsconfig });
    if (inherited === undefined) delete process.env.TSX_TSCONFIG_PATH;
    else process.env.TSX_TSCONFIG_PATH = inherited;
  })();
  return registered;
}
