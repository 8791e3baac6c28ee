/** The docker CLI's output helpers and argument parsing used by `secretd secret`. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { humanDuration, naturalLess, table } from '../../src/cli/format.ts';
import { filtersQuery } from '../../src/cli/secret.ts';
import { literalsToJson, parseLabels } from '../../src/cli/secret-create.ts';

describe('humanDuration words ages as go-units does', () => {
  const S = 1000;
  const H = 3600 * S;
  const cases: [number, string][] = [
    [500, 'Less than a second'],
    [1 * S, '1 second'],
    [59 * S, '59 seconds'],
    [60 * S, 'About a minute'],
    [119 * S, 'About a minute'],
    [59 * 60 * S, '59 minutes'],
    [60 * 60 * S, 'About an hour'],
    [90 * 60 * S, '2 hours'],
    [47 * H, '47 hours'],
    [48 * H, '2 days'],
    [14 * 24 * H, '2 weeks'],
    [60 * 24 * H, '2 months'],
    [2 * 365 * 24 * H, '2 years'],
  ];
  for (const [ms, words] of cases) test(`${ms} ms → ${words}`, () => assert.equal(humanDuration(ms), words));
});

test('naturalLess sorts digit runs as numbers', () => {
  assert.deepEqual(['s10', 's2', 'a', 's1'].sort(naturalLess), ['a', 's1', 's2', 's10']);
});

test('table pads like tabwriter (min 10, padding 3) and leaves the last column alone', () => {
  assert.equal(
    table([
      ['ID', 'NAME', 'X'],
      ['abc', 'a-long-name', 'z'],
    ]),
    'ID        NAME          X\nabc       a-long-name   z\n',
  );
});

test('filtersQuery sends the map-of-bool encoding and refuses a filter without =', () => {
  assert.equal(decodeURIComponent(filtersQuery(['name=a', 'Label=x=y', 'name=b'])), '?filters={"name":{"a":true,"b":true},"label":{"x=y":true}}');
  assert.equal(filtersQuery([]), '');
  assert.throws(() => filtersQuery(['name']), { message: 'bad format of filter (expected name=value)' });
});

test('--from-literal pairs become one JSON object; malformed or repeated keys are refused', () => {
  assert.equal(literalsToJson(['user=app', 'pass=a=b', '__proto__=x']), '{"user":"app","pass":"a=b","__proto__":"x"}');
  assert.throws(() => literalsToJson(['novalue']), { message: '--from-literal novalue: expected KEY=VALUE' });
  assert.throws(() => literalsToJson(['a=1', 'a=2']), { message: '--from-literal: key a is given twice' });
});

test('labels: KEY=VALUE, KEY alone is an empty value, an empty name is refused', () => {
  assert.deepEqual(parseLabels(['a=b', 'c', 'd=e=f']), { a: 'b', c: '', d: 'e=f' });
  assert.throws(() => parseLabels(['=x']), { message: "invalid label '=x': empty name" });
});
