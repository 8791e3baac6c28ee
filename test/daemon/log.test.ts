/**
 * The two log formats: JSON lines (the default) and --log-format text, one readable line per
 * record. Neither ever holds a value: the redaction runs before either is written.
 */
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { createLogger, textLine, type LogFormat } from '../../src/daemon/log.ts';

const SECRET = 'hunter2-never-in-a-log';

/** What a logger of this format writes for the records `emit` logs. */
function written(format: LogFormat, emit: (log: ReturnType<typeof createLogger>) => void): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'secretd-log-'));
  try {
    const fd = openSync(join(dir, 'log'), 'w');
    emit(createLogger('info', format, fd));
    closeSync(fd);
    return readFileSync(join(dir, 'log'), 'utf8')
      .split('\n')
      .filter((l) => l !== '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const records = (log: ReturnType<typeof createLogger>) => {
  log.info({ addresses: ['unix:///run/s.sock', 'tcp://127.0.0.1:2375'], dataRoot: '/srv/d' }, 'listening');
  log.warn({ data: SECRET, body: { value: SECRET, Data: SECRET }, path: '/secrets/create' }, 'two\nlines');
  log.error({ note: 'a "quoted" word = sign' }, 'failed');
  log.debug({ data: SECRET }, 'below the level');
};

describe('log formats', () => {
  test('json: one object a line, values redacted', () => {
    const lines = written('json', records);
    assert.equal(lines.length, 3);
    for (const l of lines) JSON.parse(l);
    assert.equal(JSON.parse(lines[0]!).msg, 'listening');
    assert.ok(!lines.join('\n').includes(SECRET));
  });

  test('text: TIME LEVEL message key=value, one line a record, values redacted', () => {
    const lines = written('text', records);
    assert.equal(lines.length, 3, lines.join('\n'));
    assert.match(
      lines[0]!,
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO listening addresses=\["unix:\/\/\/run\/s\.sock","tcp:\/\/127\.0\.0\.1:2375"\] dataRoot=\/srv\/d$/,
    );
    assert.match(lines[1]!, /^\S+ WARN "two\\nlines" data=\[redacted\] body=\{"value":"\[redacted\]","Data":"\[redacted\]"\} path=\/secrets\/create$/);
    assert.match(lines[2]!, /^\S+ ERROR failed note="a \\"quoted\\" word = sign"$/);
    assert.ok(!lines.join('\n').includes(SECRET));
  });

  test('text: a line that is not JSON is still one line', () => {
    assert.equal(textLine('not json\nat all'), '"not json\\nat all"');
    assert.equal(textLine('{"level":30,"time":"t","msg":"m","n":1,"b":true,"z":null}'), 't INFO m n=1 b=true z=null');
  });
});
