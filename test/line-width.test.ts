/**
 * No line of code over the formatter's width (biome.json `formatter.lineWidth`). Biome wraps
 * code but leaves strings, template literals, comments and JSX text as long as they are, so this
 * catches what it cannot: split the string with `+`, wrap the comment.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { test } from 'node:test';
import { PROJECT_ROOT } from './helpers/daemon.ts';

const WIDTH: number = JSON.parse(readFileSync(join(PROJECT_ROOT, 'biome.json'), 'utf8')).formatter.lineWidth;
const FOLDERS = ['src', 'test', 'drivers', 'bin', 'tools'];
/** Code, not prose: a README keeps a paragraph on one line. Every file in bin/ is a script. */
const CODE = /\.(ts|tsx|mts|cts|js|mjs|cjs|py)$/;

function codeFiles(dir: string, top: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return codeFiles(p, top);
    return CODE.test(name) || top === 'bin' ? [p] : [];
  });
}

/** `file:line: N characters` for each line over `width` in the code files of `folders` under `root`. */
function longLines(root: string, folders: readonly string[], width: number): string[] {
  const found: string[] = [];
  for (const top of folders) {
    for (const file of codeFiles(join(root, top), top)) {
      const name = relative(root, file).split(sep).join('/');
      readFileSync(file, 'utf8')
        .split(/\r?\n/)
        .forEach((line, i) => {
          const length = [...line].length; // characters, not UTF-16 units or bytes
          if (length > width) found.push(`${name}:${i + 1}: ${length} characters`);
        });
    }
  }
  return found;
}

test(`no line of code in ${FOLDERS.join(', ')} is over ${WIDTH} characters`, () => {
  assert.ok(WIDTH >= 80, `biome.json formatter.lineWidth: ${WIDTH}`);
  const long = longLines(PROJECT_ROOT, FOLDERS, WIDTH);
  assert.deepEqual(long, [], `lines over ${WIDTH} characters (split the string with +, wrap the comment):\n${long.join('\n')}`);
});

test('the check names the file and line of a long line, counts characters, and reads only code', () => {
  const root = mkdtempSync(join(tmpdir(), 'secretd-line-width-'));
  try {
    mkdirSync(join(root, 'src', 'deep'), { recursive: true });
    mkdirSync(join(root, 'bin'));
    writeFileSync(join(root, 'src', 'deep', 'a.ts'), `const ok = 1;\r\n// ${'x'.repeat(WIDTH - 3)}\n// ${'y'.repeat(WIDTH - 2)}\n`);
    writeFileSync(join(root, 'src', 'b.tsx'), `${'é'.repeat(WIDTH)}\n`); // 2 bytes each, one character
    writeFileSync(join(root, 'src', 'README.md'), `${'z'.repeat(WIDTH + 1)}\n`);
    writeFileSync(join(root, 'bin', 'tool'), `#!/bin/sh\necho ${'w'.repeat(WIDTH)}\n`);
    assert.deepEqual(longLines(root, ['src', 'bin'], WIDTH).sort(), [`bin/tool:2: ${WIDTH + 5} characters`, `src/deep/a.ts:3: ${WIDTH + 1} characters`]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
