/**
 * `npm run build` (also run by `npm install` as `prepare`): the daemon and its built-in drivers
 * as plain JavaScript in dist/, one esbuild pass with code splitting, so a module the daemon and
 * a driver share (the error classes) is one module, not a copy each. bin/secretd.mjs runs the
 * build while the sources still match it (src/core/source-fingerprint.mjs), so the installed command and the systemd unit start
 * one `node` process without tsx's loader thread; the sources still run under tsx otherwise.
 */
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { build } from 'esbuild';
import { BUILD_DIR, PACKAGE_ROOT } from '../src/core/package-root.ts';
import { FINGERPRINT_FILE, sourceFingerprint } from '../src/core/source-fingerprint.mjs';

const driversDir = join(PACKAGE_ROOT, 'drivers');
const driverEntries = readdirSync(driversDir, { withFileTypes: true }).flatMap((e) => {
  if (e.isFile()) return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [join(driversDir, e.name)] : [];
  const index = join(driversDir, e.name, 'index.ts');
  return e.isDirectory() && existsSync(index) ? [index] : [];
});

const fingerprint = sourceFingerprint(PACKAGE_ROOT);
const recorded = join(PACKAGE_ROOT, FINGERPRINT_FILE);
if (existsSync(recorded) && readFileSync(recorded, 'utf8').trim() === fingerprint) {
  process.stdout.write(`${relative(PACKAGE_ROOT, BUILD_DIR)}/ is up to date\n`);
} else if (writable()) {
  await build({
    absWorkingDir: PACKAGE_ROOT,
    entryPoints: [join(PACKAGE_ROOT, 'src/main.ts'), ...driverEntries].map((f) => relative(PACKAGE_ROOT, f)),
    outbase: '.',
    outdir: BUILD_DIR,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    tsconfig: join(PACKAGE_ROOT, 'tsconfig.json'),
    sourcemap: 'linked',
    logLevel: 'warning',
  });
  writeFileSync(recorded, `${fingerprint}\n`); // last: a build cut short is no build
  process.stdout.write(`built ${relative(PACKAGE_ROOT, BUILD_DIR)}/ (src/main.ts and ${driverEntries.length} built-in drivers)\n`);
}

/**
 * Clears the old build; false when this user may not (npm install by a user who cannot write
 * the checkout, as root's is): the command then runs the TypeScript sources, as it does whenever
 * the build is not current.
 */
function writable(): boolean {
  try {
    rmSync(BUILD_DIR, { recursive: true, force: true });
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EACCES' && code !== 'EPERM' && code !== 'EROFS') throw e;
    process.stderr.write(`build: cannot replace ${BUILD_DIR} (${code}); secretd will run its TypeScript sources through tsx\n`);
    return false;
  }
}
