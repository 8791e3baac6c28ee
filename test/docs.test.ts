/**
 * The docs are tested artefacts: every flag, every error code, every schema is accounted for, and
 * every link between README.md and docs/ reaches a file and a heading that exist.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { test } from 'node:test';
import { FLAGS } from '../src/daemon/flags.ts';
import { STATUS_BY_CODE } from '../src/http/errors.ts';
import { SPEC_DIR } from '../src/schemas.ts';
import { PROJECT_ROOT } from './helpers/daemon.ts';
import { docFiles } from './helpers/docs.ts';

const doc = (path: string): string => readFileSync(join(PROJECT_ROOT, path), 'utf8');
const flagsDoc = doc('docs/flags.md');
const apiDoc = doc('docs/api.md');

test('the flag table (docs/flags.md) lists every flag of --help', () => {
  for (const f of FLAGS) assert.match(flagsDoc, new RegExp(`^\\| .*\`--${f.name}[ \`]`, 'm'), `docs/flags.md lacks --${f.name}`);
});

test('the flag table (docs/flags.md) states the defaults that --help shows from spec/config.json', () => {
  const escapeRegExp = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  for (const name of ['log-level', 'log-format', 'store', 'request-timeout', 'max-connections', 'keep-versions', 'recovery-window', 'delivery', 'ui']) {
    const flag = FLAGS.find((f) => f.name === name)!;
    const row = flagsDoc.split('\n').find((l) => l.startsWith(`| \`--${name}`)) ?? '';
    const word = flag.default!.split(',')[0]!;
    // "default 60", "`info` (default", or "Off by default".
    const said =
      new RegExp(`default ${escapeRegExp(word)}\\b|\`${escapeRegExp(word)}\` \\(default`, 'i').test(row) || (word === 'off' && /Off by default/.test(row));
    assert.ok(said, `docs/flags.md --${name} should state the default ${word}: ${row}`);
  }
});

test('the error table (docs/api.md) lists every error code with its status', () => {
  for (const [code, status] of Object.entries(STATUS_BY_CODE)) {
    assert.match(apiDoc, new RegExp(`^\\| \`${code}\` \\| ${status} \\|`, 'm'), `docs/api.md lacks ${code} → ${status}`);
  }
});

test('every schema in spec/ is used by the code', () => {
  const sources = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [readFileSync(join(dir, e.name), 'utf8')] : [],
    );
  const code = sources(join(PROJECT_ROOT, 'src')).join('\n');
  for (const file of readdirSync(SPEC_DIR).filter((f) => f.endsWith('.json'))) {
    assert.ok(code.includes(`'${file}`), `spec/${file} is not used by src/`);
  }
});

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes. */
function anchors(markdown: string): Set<string> {
  const out = new Set<string>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    const m = !fenced && /^#{1,6} (.*)$/.exec(line);
    if (m)
      out.add(
        m[1]!
          .trim()
          .toLowerCase()
          .replace(/[^\w\- ]/g, '')
          .replaceAll(' ', '-'),
      );
  }
  return out;
}

test('every relative link in README.md and docs/ reaches an existing file and heading', () => {
  const broken: string[] = [];
  for (const file of docFiles()) {
    const text = doc(file);
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target!)) continue; // https:, mailto:
      const [path, anchor] = target!.split('#') as [string, string | undefined];
      const abs = path === '' ? join(PROJECT_ROOT, file) : join(PROJECT_ROOT, dirname(file), path);
      if (!existsSync(abs)) broken.push(`${file}: ${target} (no such file)`);
      else if (anchor !== undefined && abs.endsWith('.md') && !anchors(readFileSync(abs, 'utf8')).has(anchor)) {
        broken.push(`${file}: ${target} (no heading #${anchor} in ${relative(PROJECT_ROOT, abs)})`);
      }
    }
  }
  assert.deepEqual(broken, []);
});

test('the README stays a front door: at most 200 lines', () => {
  assert.ok(doc('README.md').split('\n').length <= 200);
});
