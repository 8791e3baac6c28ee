/**
 * The plugin's pure parts: volume options (`secret=NAME[:FILE],…`, uid, gid, mode, version) and the task
 * context built from a GetSecret request (slot from swarmkit's task name).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { taskContext } from '../../src/plugin/secret-provider.ts';
import { MAX_FILES, parseVolumeOptions, VolumeOptionError } from '../../src/plugin/volume-options.ts';

describe('volume options', () => {
  test("NAME and NAME:FILE entries, with Swarm's defaults", () => {
    assert.deepEqual(parseVolumeOptions({ secret: 'app.db_password:db.txt, app.api_key' }), {
      files: [
        { secret: 'app.db_password', file: 'db.txt' },
        { secret: 'app.api_key', file: 'app.api_key' },
      ],
      uid: 0,
      gid: 0,
      mode: 0o444,
    });
    assert.deepEqual(parseVolumeOptions({ secret: 'a', uid: '1000', gid: '50', mode: '0440' }), {
      files: [{ secret: 'a', file: 'a' }],
      uid: 1000,
      gid: 50,
      mode: 0o440,
    });
    assert.equal(parseVolumeOptions({ secret: 'a', mode: '600' }).mode, 0o600);
  });

  test('version=N pins the one secret of the volume; without it no file is pinned', () => {
    assert.deepEqual(parseVolumeOptions({ secret: 'app.db:db.txt', version: '3' }).files, [{ secret: 'app.db', file: 'db.txt', version: 3 }]);
    assert.ok(
      parseVolumeOptions({ secret: 'a,b' }).files.every((f) => !('version' in f)),
      'an unpinned file has no version key (the state file compares options as JSON)',
    );
  });

  for (const [opts, message] of [
    [undefined, /needs the option secret=/],
    [{ secret: ' ' }, /needs the option secret=/],
    [{ secret: 'a', size: '1' }, /unknown volume option "size"/],
    [{ secret: 'a:../x' }, /NAME:FILE/],
    [{ secret: 'a:..' }, /NAME:FILE/],
    [{ secret: 'a:' }, /NAME:FILE/],
    [{ secret: ':x' }, /NAME:FILE/],
    [{ secret: 'a,,b' }, /NAME:FILE/],
    [{ secret: 'a:x,b:x' }, /same file/],
    [{ secret: 'a', uid: '-1' }, /uid="-1"/],
    [{ secret: 'a', gid: '4294967295' }, /gid=/],
    [{ secret: 'a', mode: '04755' }, /octal/],
    [{ secret: 'a', mode: 'rw' }, /octal/],
    [{ secret: Array.from({ length: MAX_FILES + 1 }, (_, i) => `s${i}`).join(',') }, /at most 64/],
    [{ secret: 'a', version: '0' }, /version="0": a version is a whole number from 1/],
    [{ secret: 'a', version: 'latest' }, /version="latest"/],
    [{ secret: 'a,b', version: '2' }, /version=2 pins one secret, and this volume holds 2/],
  ] as const) {
    test(`refused: ${JSON.stringify(opts)}`, () => {
      assert.throws(
        () => parseVolumeOptions(opts as Record<string, string> | undefined),
        (e: unknown) => e instanceof VolumeOptionError && message.test(e.message),
      );
    });
  }

  test('a long hostile list is refused in time linear in its length', () => {
    const t0 = process.hrtime.bigint();
    assert.throws(() => parseVolumeOptions({ secret: `${'a:'.repeat(30_000)}x` }), VolumeOptionError);
    assert.throws(() => parseVolumeOptions({ secret: 'a'.repeat(60_000) }), VolumeOptionError);
    assert.ok(Number(process.hrtime.bigint() - t0) / 1e6 < 200);
  });
});

describe('task context from GetSecret', () => {
  test('service, task and node as swarmkit names them; the slot comes from SERVICE.SLOT.TASKID', () => {
    const c = taskContext({
      SecretName: 's',
      ServiceName: 'web',
      ServiceID: 'sid',
      ServiceLabels: { a: 'b' },
      TaskID: 'tid',
      TaskName: 'web.3.tid',
      TaskImage: 'img',
      NodeID: 'nid',
    });
    assert.deepEqual(c, {
      service: { ID: 'sid', Name: 'web', Labels: { a: 'b' }, Hostname: '' },
      node: { ID: 'nid', Hostname: '', Platform: { OS: '', Architecture: '' } },
      task: { ID: 'tid', Name: 'web.3.tid', Slot: '3', Image: 'img' },
      env: [],
      secrets: [],
    });
    assert.equal(taskContext({ SecretName: 's', ServiceName: 'web', TaskID: 'tid', TaskName: 'other.1.tid' }).task.Slot, '');
    assert.equal(taskContext({ SecretName: 's' }).task.Slot, '');
  });
});
