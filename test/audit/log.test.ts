/** The audit writer: 0600 files, group commit, a chain that survives restarts, torn and cut tails. */
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { parseHead, verifyChain } from '../../src/audit/chain.ts';
import type { AuditEvent } from '../../src/audit/events.ts';
import { AuditLog } from '../../src/audit/log.ts';

const dir = mkdtempSync(join(tmpdir(), 'secretd-audit-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const fresh = () => join(dir, `log-${++n}`, 'audit.log');

const event = (name: string): AuditEvent => ({
  who: { transport: 'tcp', address: '127.0.0.1', port: 5 },
  action: 'secret.remove',
  secret: { ref: name },
  result: 'not_found',
  status: 404,
});
const records = (file: string) =>
  readFileSync(file, 'utf8')
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
const verify = (file: string) => verifyChain(readFileSync(file), parseHead(readFileSync(`${file}.head`, 'utf8').trim()));

describe('AuditLog', () => {
  test('creates the log and its head file 0600, each line on disk when record resolves', async () => {
    const file = fresh();
    const log = await AuditLog.open(file);
    await log.record(event('a'));
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(`${file}.head`).mode & 0o777, 0o600);
    assert.equal(records(file).length, 1);
    await log.close();
    const [r] = records(file);
    assert.deepEqual(Object.keys(r!), ['seq', 'time', 'who', 'action', 'secret', 'result', 'status', 'prev']);
    assert.match(r!.time as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/);
  });

  test('records made in one turn share a write; all resolve, in order, chain intact', async () => {
    const file = fresh();
    const log = await AuditLog.open(file);
    await Promise.all(Array.from({ length: 200 }, (_, i) => log.record(event(`s${i}`))));
    await Promise.all(Array.from({ length: 50 }, (_, i) => log.record(event(`t${i}`))));
    await log.close();
    const v = verify(file);
    assert.equal(v.problem, undefined);
    assert.equal(v.lines, 250);
    assert.deepEqual(
      records(file).map((r) => r.seq),
      Array.from({ length: 250 }, (_, i) => i + 1),
    );
  });

  test('a reopened log continues the chain', async () => {
    const file = fresh();
    for (let round = 0; round < 3; round++) {
      const log = await AuditLog.open(file);
      await log.record(event(`r${round}`));
      await log.close();
    }
    const v = verify(file);
    assert.equal(v.problem, undefined);
    assert.equal(v.lastSeq, 3);
  });

  test('a torn last line is kept, ended and marked; verification passes with a note', async () => {
    const file = fresh();
    let log = await AuditLog.open(file);
    await log.record(event('a'));
    await log.close();
    appendFileSync(file, '{"seq":2,"time":"2026');
    const warnings: string[] = [];
    log = await AuditLog.open(file, (m) => warnings.push(m));
    await log.record(event('b'));
    await log.close();
    assert.match(warnings[0]!, /torn by a crash/);
    const lines = readFileSync(file, 'utf8').split('\n');
    assert.equal(lines[1], '{"seq":2,"time":"2026');
    assert.equal(JSON.parse(lines[2]!).action, 'audit.torn');
    const v = verify(file);
    assert.equal(v.problem, undefined, JSON.stringify(v.problem));
    assert.equal(v.lastSeq, 3);
    assert.match(v.notes.join(), /line 2 was torn by a crash; line 3 records it/);
  });

  test('a whole last line that lost only its newline is adopted', async () => {
    const file = fresh();
    let log = await AuditLog.open(file);
    await log.record(event('a'));
    await log.record(event('b'));
    await log.close();
    truncateSync(file, statSync(file).size - 1);
    log = await AuditLog.open(file);
    await log.record(event('c'));
    await log.close();
    assert.deepEqual(
      records(file).map((r) => r.action),
      ['secret.remove', 'secret.remove', 'secret.remove'],
    );
    assert.equal(verify(file).problem, undefined);
  });

  test('a log cut shorter than its head file says is recorded as cut at the next start', async () => {
    const file = fresh();
    let log = await AuditLog.open(file);
    for (const s of ['a', 'b', 'c']) await log.record(event(s));
    await log.close();
    const content = readFileSync(file, 'utf8');
    truncateSync(file, content.indexOf('\n', content.indexOf('\n') + 1) + 1); // keep 2 lines
    assert.match(verify(file).problem!.message, /lines were removed from the end/);
    const warnings: string[] = [];
    log = await AuditLog.open(file, (m) => warnings.push(m));
    await log.close();
    assert.match(warnings[0]!, /ends at seq 2 but .*\.head records seq 3/);
    const last = records(file).at(-1)!;
    assert.equal(last.action, 'audit.truncated');
    assert.equal((last.head as { seq: number }).seq, 3);
    assert.equal(verify(file).problem, undefined);
  });

  test('a log whose last line is not a record refuses to open', async () => {
    const file = fresh();
    const log = await AuditLog.open(file);
    await log.record(event('a'));
    await log.close();
    appendFileSync(file, 'not json\n');
    await assert.rejects(AuditLog.open(file), /last complete line is not an audit record/);
  });

  test('record after close is refused as unavailable', async () => {
    const log = await AuditLog.open(fresh());
    await log.close();
    await assert.rejects(log.record(event('a')), { code: 'unavailable' });
  });
});
