// Runs node:test over TypeScript test files through tsx. Node 20's `--test` neither globs nor
// finds .ts files by itself, so this lists them: `node test/run.mjs [AREA...]` where an AREA is
// `unit` (everything outside test/e2e), `e2e`, or a folder or file below test/.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const testDir = join(root, 'test');

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return name === 'helpers' || name === 'bench' ? [] : walk(p);
    return name.endsWith('.test.ts') ? [p] : [];
  });
}

const all = walk(testDir).sort();
const areas = process.argv.slice(2);
const isE2e = (f) => relative(testDir, f).startsWith('e2e');
const files =
  areas.length === 0
    ? all
    : all.filter((f) =>
        areas.some((a) => {
          if (a === 'unit') return !isE2e(f);
          const target = join(testDir, a);
          return f === target || f === `${target}.test.ts` || f.startsWith(`${target}/`);
        }),
      );
if (files.length === 0) {
  console.error(`no test files for ${areas.join(' ') || 'all'}`);
  process.exit(1);
}
// Tests append the reason for each missing component here (test/helpers/tools.ts `missing()`),
// so the run can end with one line naming them all and the command that installs them.
const skipLog = join(mkdtempSync(join(tmpdir(), 'secretd-skips-')), 'skipped');
writeFileSync(skipLog, '');
const res = spawnSync(process.execPath, ['--import', 'tsx', '--test', ...files.map((f) => relative(root, f))], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, SECRETD_SKIP_LOG: skipLog },
});
const skipped = [...new Set(readFileSync(skipLog, 'utf8').split('\n').filter(Boolean))];
rmSync(dirname(skipLog), { recursive: true, force: true });
if (skipped.length > 0) {
  console.log(`# skipped for missing components: ${skipped.join('; ')} — install them all with: sudo npm run setup`);
}
process.exit(res.status ?? 1);
