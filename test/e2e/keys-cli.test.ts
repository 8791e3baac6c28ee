/**
 * `secretd keys ls|rotate` against a real daemon over its unix socket: the KEKs as the daemon
 * reports them, a rotation that makes a new KEK current and re-wraps every stored value (the
 * values still read back after a restart), and the refusals (TCP, unknown command, stray words).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ok, secretd } from '../helpers/cli.ts';
import { startDaemon, type Daemon } from '../helpers/daemon.ts';

let d: Daemon;
before(async () => {
  d = await startDaemon({ args: ['--log-level', 'warn', '-H', 'tcp://127.0.0.1:0'] });
});
after(async () => d?.dispose());

const lsJson = () => JSON.parse(ok(secretd(d.host, ['keys', 'ls', '--format', 'json']), 'keys ls --format json'));

describe('secretd keys', () => {
  test('ls shows what GET /_secretd/v1/keys answers, as aligned lines or as JSON', async () => {
    const api = (await d.request({ path: '/_secretd/v1/keys' })).json;
    assert.deepEqual(lsJson(), api);
    const text = ok(secretd(d.host, ['keys', 'ls']), 'keys ls');
    assert.match(text, new RegExp(`^Provider: +${api.Provider}$`, 'm'));
    assert.match(text, new RegExp(`^Current key: +${api.CurrentKey}$`, 'm'));
    assert.match(text, new RegExp(`^Keys: +.*${api.CurrentKey} \\(current\\)`, 'm'));
    assert.match(text, /^Autolock: +off$/m);
  });

  test('rotate --wait makes a new KEK current and re-wraps every value; the values still read', async () => {
    for (let i = 0; i < 30; i++) {
      const res = await d.request({ method: 'POST', path: '/secrets/create', body: { Name: `keys-cli-${i}`, Data: Buffer.from(`v${i}`).toString('base64') } });
      assert.equal(res.status, 201, res.text);
    }
    const before = lsJson();
    const out = ok(secretd(d.host, ['keys', 'rotate', '--wait']), 'keys rotate --wait');
    const afterRotate = lsJson();
    assert.notEqual(afterRotate.CurrentKey, before.CurrentKey);
    assert.match(out, new RegExp(`^current key: ${afterRotate.CurrentKey}$`, 'm'));
    assert.match(out, /^rotation idle: \d+ re-wrapped, 0 failed$/m);
    assert.equal(afterRotate.Rotation.State, 'idle');
    assert.ok(afterRotate.Rotation.Rewrapped >= 30, JSON.stringify(afterRotate.Rotation));
    // A restart opens the store with the rotated keyring alone.
    await d.stop();
    d = await startDaemon({ dataRoot: d.dataRoot, args: ['--log-level', 'warn', '--delivery'] });
    const token = ok(secretd(d.host, ['token', 'create', '--allow', 'keys-cli-*']), 'token create').trim();
    const res = await d.request({ path: '/_secretd/v1/secrets/keys-cli-7/value', headers: { Authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.text, 'v7');
  });

  test('refusals: over TCP, an unknown command, stray words, a flag of the other command', async () => {
    const tcp = secretd('tcp://127.0.0.1:1', ['keys', 'ls']);
    assert.equal(tcp.status, 2);
    assert.match(tcp.stderr, /keys are administered over the unix socket only/);
    for (const [args, message] of [
      [['keys', 'drop'], /unknown keys command "drop"/],
      [['keys'], /keys needs a command: ls or rotate/],
      [['keys', 'ls', 'extra'], /keys ls takes no arguments \(got extra\)/],
      [['keys', 'ls', '--wait'], /--wait is for keys rotate/],
      [['keys', 'ls', '--format', 'yaml'], /--format yaml: use table or json/],
    ] as [string[], RegExp][]) {
      const r = secretd(d.host, args);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.match(r.stderr, /See 'secretd keys --help'\./);
    }
    const help = ok(secretd(d.host, ['keys', '--help']), 'keys --help');
    assert.match(help, /secretd keys rotate \[--wait\]/);
  });
});
