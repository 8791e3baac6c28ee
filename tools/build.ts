/**
 * `npm run build` (also run by `npm install` as `prepare`): the daemon and its built-in drivers
 * as plain JavaScript in dist/, one esbuild pass with code splitting, so a module the daemon and
 * a driver share (the error classes) is one module, not a copy each. bin/secretd.mjs runs the
 * build while the sources still match it (src/core/source-fingerprint.mjs), so the installed command and the systemd unit start
 * one `node` process without tsx's loader thread; the sources still run under tsx otherwise.
 */
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
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

rmSync(BUILD_DIR, { recursive: true, force: true });
const fingerprint = sourceFingerprint(PACKAGE_ROOT);
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
writeFileSync(join(PACKAGE_ROOT, FINGERPRINT_FILE), `${fingerprint}\n`); // last: a build cut short is no build
process.stdout.write(`built ${relative(PACKAGE_ROOT, BUILD_DIR)}/ (src/main.ts and ${driverEntries.length} built-in drivers)\n`);
