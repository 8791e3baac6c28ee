/** The hash chain: an intact log verifies; each kind of tampering is named at its line. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatRecord, GENESIS, lineHash, verifyChain } from '../../src/audit/chain.ts';
import type { AuditEvent } from '../../src/audit/events.ts';

const event = (n: number): AuditEvent => ({
  who: { transport: 'unix', socket: '/run/secretd.sock' },
  action: 'secret.create',
  secret: { id: `id${n}`, name: `s${n}` },
  result: 'ok',
  status: 201,
});

/** `count` chained lines, as the writer makes them. */
function chain(count: number): string[] {
  const lines: string[] = [];
  let prev = GENESIS;
  for (let i = 1; i <= count; i++) {
    const line = formatRecord(i, `2026-01-01T00:00:0${i % 10}Z`, event(i), prev);
    lines.push(line);
    prev = lineHash(line);
  }
  return lines;
}

/** Array#with and #toSpliced, which the ES2022 lib lacks. */
const replaced = (l: string[], i: number, v: string) => l.map((x, j) => (j === i ? v : x));
function spliced(l: string[], start: number, remove: number, ...items: string[]): string[] {
  const copy = [...l];
  copy.splice(start, remove, ...items);
  return copy;
}

const file = (lines: string[], end = '\n') => Buffer.from(lines.join('\n') + (lines.length ? end : ''));

describe('verifyChain', () => {
  test('an intact log verifies, with its line count and last hash', () => {
    const lines = chain(5);
    const v = verifyChain(file(lines));
    assert.equal(v.problem, undefined);
    assert.equal(v.lines, 5);
    assert.equal(v.lastSeq, 5);
    assert.equal(v.lastHash, lineHash(lines[4]!));
  });

  test('an empty log is intact', () => {
    assert.deepEqual(verifyChain(Buffer.alloc(0)), { lines: 0, lastSeq: 0, lastHash: GENESIS, notes: [] });
  });

  const cases: [title: string, tamper: (lines: string[]) => string[], line: number, message: RegExp][] = [
    ['an edited line is named (the next line no longer chains to it)', (l) => replaced(l, 2, l[2]!.replace('"s3"', '"s9"')), 3, /line 3 \(seq 3\) was edited/],
    ['a removed line in the middle is named with the missing seq', (l) => spliced(l, 2, 1), 3, /seq 3 was removed/],
    ['several removed lines give the seq range', (l) => spliced(l, 1, 3), 2, /seq 2 to 4 were removed/],
    ['a removed first line', (l) => l.slice(1), 1, /the log starts at seq 2: seq 1 was removed/],
    ['two swapped lines are a reorder', (l) => replaced(replaced(l, 1, l[2]!), 2, l[1]!), 2, /lines were reordered/],
    ['a copied line is an insertion', (l) => spliced(l, 3, 0, l[1]!), 4, /which line 2 already has: a line was inserted/],
    ['a line that is not JSON', (l) => replaced(l, 1, 'garbage'), 2, /line 2 is not an audit record/],
    ['an edited prev on line 1', (l) => replaced(l, 0, l[0]!.replace(GENESIS, 'f'.repeat(64))), 1, /line 1 was edited/],
  ];
  for (const [title, tamper, line, message] of cases) {
    test(title, () => {
      const v = verifyChain(file(tamper(chain(6))));
      assert.equal(v.problem?.line, line, JSON.stringify(v.problem));
      assert.match(v.problem!.message, message);
    });
  }

  test('a forged line with a fresh chain after it is still caught by the head file', () => {
    const lines = chain(4);
    const v = verifyChain(file(lines.slice(0, 2)), { seq: 4, hash: lineHash(lines[3]!) });
    assert.equal(v.problem?.line, 3);
    assert.match(v.problem!.message, /head file records seq 4 but the log ends at seq 2: lines were removed from the end/);
  });

  test('an edited last line is caught by the head file only', () => {
    const lines = chain(3);
    const edited = replaced(lines, 2, lines[2]!.replace('"s3"', '"s9"'));
    assert.equal(verifyChain(file(edited)).problem, undefined);
    const v = verifyChain(file(edited), { seq: 3, hash: lineHash(lines[2]!) });
    assert.equal(v.problem?.line, 3);
    assert.match(v.problem!.message, /not the one the head file records/);
  });

  test('a head older than the end (a crash before it was rewritten) is fine', () => {
    const lines = chain(4);
    assert.equal(verifyChain(file(lines), { seq: 2, hash: lineHash(lines[1]!) }).problem, undefined);
  });

  test('an unfinished last line is a note, not a break', () => {
    const v = verifyChain(Buffer.from(`${chain(2).join('\n')}\n{"seq":3,"ti`));
    assert.equal(v.problem, undefined);
    assert.equal(v.lines, 2);
    assert.match(v.notes[0]!, /line 3 is unfinished/);
  });

  test('a torn line the daemon marked with audit.torn is a note; the chain skips it', () => {
    const lines = chain(2);
    const torn = '{"seq":3,"time":"20';
    const mark = formatRecord(
      3,
      '2026-01-01T00:00:09Z',
      { who: { transport: 'daemon' }, action: 'audit.torn', result: 'ok', torn: { bytes: torn.length, sha256: lineHash(torn) } },
      lineHash(lines[1]!),
    );
    const v = verifyChain(file([...lines, torn, mark]));
    assert.equal(v.problem, undefined, JSON.stringify(v.problem));
    assert.equal(v.lines, 3);
    assert.match(v.notes[0]!, /line 3 was torn by a crash; line 4 records it/);
  });

  test('a mark that names other bytes does not excuse a bad line', () => {
    const lines = chain(2);
    const mark = formatRecord(
      3,
      't',
      { who: { transport: 'daemon' }, action: 'audit.torn', result: 'ok', torn: { bytes: 3, sha256: lineHash('abc') } },
      lineHash(lines[1]!),
    );
    const v = verifyChain(file([...lines, 'xyz', mark]));
    assert.equal(v.problem?.line, 3);
  });
});
