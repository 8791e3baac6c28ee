// Runs node:test over TypeScript test files through tsx. Node 20's `--test` neither globs nor
// finds .ts files by itself, so this lists them: `node test/run.mjs [AREA...]` where an AREA is
// `unit` (everything outside test/e2e), `e2e`, or a folder or file below test/.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
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
const files = areas.length === 0 ? all : all.filter((f) => areas.some((a) => {
  if (a === 'unit') return !isE2e(f);
  const target = join(testDir, a);
  return f === target || f === `${target}.test.ts` || f.startsWith(`${target}/`);
}));
if (files.length === 0) {
  console.error(`no test files for ${areas.join(' ') || 'all'}`);
  process.exit(1);
}
const res = spawnSync(process.execPath, ['--import', 'tsx', '--test', ...files.map((f) => relative(root, f))], {
  cwd: root,
  stdio: 'inherit',
});
process.exit(res.status ?? 1);
