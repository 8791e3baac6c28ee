/**
 * The layers of docs/architecture.md, checked: a module under src/ imports only modules of its
 * own layer or of a layer further in. The kernel (src/core) is innermost, the process entry
 * outermost; a new folder under src/ fails here until it is given a layer.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { PROJECT_ROOT } from './helpers/daemon.ts';

/** Innermost first. A folder (or a file at the root of src/) may import its own layer and those before it. */
const LAYERS: readonly (readonly string[])[] = [
  ['core', 'spec-types', 'durable-files.ts', 'version.ts', 'schemas.ts'],
  ['store'],
  ['crypto', 'drivers', 'templating', 'audit'],
  ['secrets', 'swarm', 'delivery'],
  ['ui'],
  ['http', 'plugin'],
  ['cli', 'daemon'],
  ['main.ts'],
];

const SRC = join(PROJECT_ROOT, 'src');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sources(p);
    return /\.tsx?$/.test(name) ? [p] : [];
  });
}

/** The relative imports of a file (static, `export … from`, and dynamic `import('…')`), resolved. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^import\s+)['"](\.{1,2}\/[^'"]+)['"]/gm)].map((m) => resolve(dirname(file), m[1]!));
}

/** The part of src/ a path belongs to: its first folder, or the file itself at the root. */
const partOf = (path: string): string => relative(SRC, path).split('/')[0]!;

function layerOf(path: string): number {
  const part = partOf(path);
  const i = LAYERS.findIndex((layer) => layer.includes(part));
  assert.notEqual(i, -1, `src/${part} has no layer: add it to LAYERS in test/architecture.test.ts and to docs/architecture.md`);
  return i;
}

const edges = sources(SRC).flatMap((from) => importsOf(from).map((to) => ({ from, to })));

test('the import graph of src/ is read (a known import is among the edges)', () => {
  const has = (from: string, to: string) => edges.some((e) => e.from === join(SRC, from) && e.to === join(SRC, to));
  assert.ok(has('store/open.ts', 'store/sqlite.ts'), 'a static import');
  assert.ok(has('store/open.ts', 'store/etcd.ts'), 'a dynamic import');
  assert.ok(has('main.ts', 'daemon/run.ts'), 'a dynamic import from the entry');
});

test('every folder and root file of src/ has a layer', () => {
  for (const name of readdirSync(SRC)) layerOf(join(SRC, name));
});

test('no layer imports an outer one', () => {
  const wrong = edges
    .filter(({ from, to }) => layerOf(to) > layerOf(from))
    .map(({ from, to }) => `${relative(PROJECT_ROOT, from)} → ${relative(PROJECT_ROOT, to)}`);
  assert.deepEqual(wrong, [], `inner layers import outer ones:\n${wrong.join('\n')}`);
});
