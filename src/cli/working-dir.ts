/**
 * The user's working directory. `npm start` runs the daemon from the package's folder, not
 * the one the user typed it in; npm records that one in INIT_CWD. Moving back there first makes
 * every relative path on the command line (--driver, --data-root, --keyring, -f, -c, driver
 * settings such as file.root) mean what it means in the user's shell, as with the installed command.
 */
import { realpathSync } from 'node:fs';
import { PACKAGE_ROOT } from '../core/package-root.ts';

/**
 * chdir to INIT_CWD when npm started this as the package's `start` script, from its own folder.
 * Only then: INIT_CWD and npm_lifecycle_event are inherited by every child of an npm script
 * (`npm test` running `secretd` in a scratch folder must stay in that folder).
 */
export function enterUserWorkingDir(env: NodeJS.ProcessEnv = process.env): void {
  const initCwd = env.INIT_CWD;
  if (!initCwd || env.npm_lifecycle_event !== 'start' || !samePath(process.cwd(), PACKAGE_ROOT)) return;
  try {
    process.chdir(initCwd);
  } catch {
    // the folder is gone or unreadable: paths then resolve against the package, as before
  }
}

function samePath(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}
