/**
 * src/durable-files.ts never writes through a symbolic link planted at a name it uses: not at
 * the temporary names of the old scheme (FILE.tmp-PID, FILE.new-PID…), not at the target, not
 * at a daemon file opened with openOwnFile.
 */
import assert from 'node:assert/strict';
import { closeSync, constants, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { createFileDurably, openOwnFile, SymlinkRefused, writeFileDurably } from '../src/durable-files.ts';

let dir: string;
let victim: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'secretd-durable-'));
  victim = join(dir, 'victim');
  writeFileSync(victim, 'untouched');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Every name the old code derived from the pid, as an attacker would plant them. */
function plantOldNames(file: string): string[] {
  const pid = process.pid;
  const names = [`${file}.tmp-${pid}`, `${file}.new-${pid}`, `${file}.new-${pid}.tmp-${pid}`];
  for (const n of names) symlinkSync(victim, n);
  return names;
}

describe('durable files and planted links', () => {
  test('writeFileDurably and createFileDurably leave links at the old temporary names alone', () => {
    const file = join(dir, 'keyring.json');
    plantOldNames(file);
    assert.equal(createFileDurably(file, 'first', 0o600), true);
    writeFileDurably(file, 'second', 0o600);
    assert.equal(readFileSync(victim, 'utf8'), 'untouched');
    assert.equal(readFileSync(file, 'utf8'), 'second');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.ok(!lstatSync(file).isSymbolicLink());
    const left = readdirSync(dir).filter((n) => n.startsWith('keyring.json.') && !lstatSync(join(dir, n)).isSymbolicLink());
    assert.deepEqual(left, [], 'no temporary file is left behind');
  });

  test('a link at the target is replaced by writeFileDurably, and makes createFileDurably report an existing file', () => {
    const file = join(dir, 'out');
    symlinkSync(victim, file);
    assert.equal(createFileDurably(file, 'new', 0o600), false);
    assert.equal(readFileSync(victim, 'utf8'), 'untouched');
    writeFileDurably(file, 'new', 0o666); // beyond the usual umask 022
    assert.equal(readFileSync(victim, 'utf8'), 'untouched');
    assert.ok(!lstatSync(file).isSymbolicLink());
    assert.equal(statSync(file).mode & 0o777, 0o666, 'the mode is set on the descriptor, whatever the umask');
  });

  test('openOwnFile refuses a link with SymlinkRefused and opens a plain file', () => {
    const link = join(dir, 'audit.log');
    symlinkSync(victim, link);
    assert.throws(
      () => openOwnFile(link, constants.O_RDWR | constants.O_APPEND),
      (e) => e instanceof SymlinkRefused && /audit\.log is a symbolic link/.test(e.message),
    );
    assert.equal(readFileSync(victim, 'utf8'), 'untouched');
    closeSync(openOwnFile(join(dir, 'plain'), constants.O_CREAT | constants.O_RDWR));
    assert.equal(statSync(join(dir, 'plain')).mode & 0o777, 0o600);
  });
});
