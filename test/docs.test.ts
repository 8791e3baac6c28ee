/** The README is a tested artefact: every flag, every error code, every schema is accounted for. */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { FLAGS } from '../src/daemon/flags.ts';
import { STATUS_BY_CODE } from '../src/http/errors.ts';
import { SPEC_DIR } from '../src/schemas.ts';
import { PROJECT_ROOT } from './helpers/daemon.ts';

const readme = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8');

test('the README flag table lists every flag of --help', () => {
  for (const f of FLAGS) assert.match(readme, new RegExp(`^\\| .*\`--${f.name}[ \`]`, 'm'), `README lacks --${f.name}`);
});

test('the README error table lists every error code with its status', () => {
  for (const [code, status] of Object.entries(STATUS_BY_CODE)) {
    assert.match(readme, new RegExp(`^\\| \`${code}\` \\| ${status} \\|`, 'm'), `README lacks ${code} → ${status}`);
  }
});

test('every schema in spec/ is used by the code', () => {
  const sources = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [readFileSync(join(dir, e.name), 'utf8')] : []));
  const code = sources(join(PROJECT_ROOT, 'src')).join('\n');
  for (const file of readdirSync(SPEC_DIR).filter((f) => f.endsWith('.json'))) {
    assert.ok(code.includes(`'${file}`), `spec/${file} is not used by src/`);
  }
});
