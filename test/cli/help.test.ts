/**
 * Every --help (the daemon's and each command's) keeps its option columns: descriptions start
 * at one fixed column, long names get a line of their own, and no line is wider than the width.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HELP_COLUMN, HELP_WIDTH, helpColumns, wrap } from '../../src/cli/help.ts';
import { COMMANDS } from '../../src/cli/main.ts';
import { FLAGS, helpText } from '../../src/daemon/flags.ts';

const texts: [string, string][] = [['secretd', helpText()], ...Object.entries(COMMANDS).map(([name, c]) => [`secretd ${name}`, c.usage] as [string, string])];

describe('help columns', () => {
  for (const [name, text] of texts) {
    test(`${name} --help: no line over ${HELP_WIDTH}, descriptions at column ${HELP_COLUMN}`, () => {
      const lines = text.split('\n');
      for (const line of lines) assert.ok(line.length <= HELP_WIDTH, `${name}: ${line.length} columns: ${line}`);
      for (const [i, line] of lines.entries()) {
        // An option row: "  -x, --name ARG    description" or "      --name ARG    description".
        const m = /^( {2}-[A-Za-z], | {6})--[a-z-]+/.exec(line);
        if (!m) continue;
        const namesOnly = !/\S {2,}\S/.test(line.trimStart());
        if (namesOnly) {
          // Too long for the column: the description starts on the next line, under the column.
          assert.match(lines[i + 1] ?? '', new RegExp(`^ {${HELP_COLUMN}}\\S`), `${name}: after ${line}`);
          continue;
        }
        assert.match(line.slice(0, HELP_COLUMN), / {2}$/, `${name}: names run into the description: ${line}`);
        assert.match(line.slice(HELP_COLUMN), /^\S/, `${name}: description not at column ${HELP_COLUMN}: ${line}`);
      }
    });
  }

  test('the daemon help lists every flag once, each with its whole description', () => {
    const text = helpText();
    const flat = text.replace(/\n {30}/g, ' ');
    for (const f of FLAGS) {
      const row = new RegExp(`^ +(-[A-Za-z], )?--${f.name}${f.arg ? ` ${f.arg}` : ''}( |$)`);
      assert.equal(text.split('\n').filter((l) => row.test(l)).length, 1, `--${f.name} once`);
      assert.ok(flat.includes(f.help), `--${f.name}'s description is whole: ${f.help}`);
    }
  });

  test('a name too long for the column gets its own line; wrapping keeps every word', () => {
    const out = helpColumns(
      [
        ['--short', 'one two three'],
        [`--${'x'.repeat(40)}`, 'alpha beta gamma delta'],
      ],
      20,
      34,
    );
    assert.equal(
      out,
      ['  --short           one two three', `  --${'x'.repeat(40)}`, '                    alpha beta', '                    gamma delta'].join('\n'),
    );
    assert.deepEqual(wrap('a bb ccc dddd', 6), ['a bb', 'ccc', 'dddd']);
    assert.deepEqual(wrap('averyveryverylongword x', 5), ['averyveryverylongword', 'x']);
    assert.deepEqual(wrap('  spaced \n out  ', 80), ['spaced out']);
  });
});
