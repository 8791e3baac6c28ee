/**
 * The browser guard's verdicts, as a table: which Host, Origin and Sec-Fetch-Site combinations a
 * TCP or TLS listener accepts, and that unix sockets accept everything. (test/e2e/edge.test.ts
 * and test/e2e/browser-attack.test.ts send the same requests to a real daemon and a real browser.)
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { browserRefusal } from '../../src/http/browser-guard.ts';
import type { ListenerInfo } from '../../src/http/env.ts';
import { hostOfHeader } from '../../src/http/hosts.ts';

const tcp: ListenerInfo = { transport: 'tcp', host: '127.0.0.1', port: 2375 };
const anyAddress: ListenerInfo = { transport: 'tcp', host: '0.0.0.0', port: 2375 };
const tls: ListenerInfo = { transport: 'tls', host: '0.0.0.0', port: 2376 };
const unix: ListenerInfo = { transport: 'unix', path: '/run/secretd.sock' };

type Headers = { host?: string; origin?: string; fetchSite?: string };
const cases: [ListenerInfo, Headers, 'pass' | RegExp, string?][] = [
  [tcp, { host: '127.0.0.1:2375' }, 'pass'],
  [tcp, { host: 'localhost' }, 'pass'],
  [tcp, { host: 'LocalHost:9' }, 'pass'],
  [tcp, { host: '127.255.0.1:2375' }, 'pass'],
  [tcp, { host: '[::1]:2375' }, 'pass'],
  [tcp, { host: 'evil.example:2375' }, /Host header/],
  [tcp, { host: 'localhost.evil.example' }, /Host header/],
  [tcp, { host: '127.0.0.1.nip.io' }, /Host header/],
  [tcp, { host: 'localhost.' }, /Host header/],
  [tcp, { host: '' }, /Host header/],
  [tcp, {}, /Host header/],
  [tcp, { host: 'a@127.0.0.1' }, /Host header/],
  [tcp, { host: '[::ffff:7f00:1]' }, /Host header/],
  [anyAddress, { host: '192.0.2.7:2375' }, 'pass', '192.0.2.7'],
  [anyAddress, { host: '192.0.2.8:2375' }, /Host header/, '192.0.2.7'],
  [tcp, { host: '127.0.0.1:2375', origin: 'http://127.0.0.1:2375' }, 'pass'],
  [tcp, { host: '127.0.0.1:2375', origin: 'HTTP://127.0.0.1:2375' }, 'pass'],
  [tcp, { host: '127.0.0.1:2375', origin: 'http://127.0.0.1:2376' }, /Origin/],
  [tcp, { host: '127.0.0.1:2375', origin: 'https://127.0.0.1:2375' }, /Origin/],
  [tcp, { host: '127.0.0.1:2375', origin: 'null' }, /Origin/],
  [tcp, { host: '127.0.0.1:2375', origin: '' }, /Origin/],
  [tcp, { host: '127.0.0.1:2375', fetchSite: 'same-origin' }, 'pass'],
  [tcp, { host: '127.0.0.1:2375', fetchSite: 'none' }, 'pass'],
  [tcp, { host: '127.0.0.1:2375', fetchSite: 'same-site' }, /Sec-Fetch-Site/],
  [tcp, { host: '127.0.0.1:2375', fetchSite: 'cross-site' }, /Sec-Fetch-Site/],
  [tcp, { host: '127.0.0.1:2375', fetchSite: 'something-new' }, /Sec-Fetch-Site/],
  [tls, { host: 'secretd.example:2376' }, 'pass'],
  [tls, { host: 'secretd.example:2376', origin: 'https://secretd.example:2376', fetchSite: 'same-origin' }, 'pass'],
  [tls, { host: 'secretd.example:2376', origin: 'http://secretd.example:2376' }, /Origin/],
  [tls, { host: 'secretd.example:2376', origin: 'https://evil.example' }, /Origin/],
  [tls, { host: 'secretd.example:2376', fetchSite: 'cross-site' }, /Sec-Fetch-Site/],
  [unix, { host: 'evil.example', origin: 'null', fetchSite: 'cross-site' }, 'pass'],
];

describe('the browser guard', () => {
  for (const [listener, headers, want, local] of cases) {
    test(`${listener.transport} ${listener.host ?? ''} ${JSON.stringify(headers)}: ${want === 'pass' ? 'passes' : 'refused'}`, () => {
      const why = browserRefusal(listener, headers, local);
      if (want === 'pass') assert.equal(why, undefined);
      else {
        assert.match(why ?? '', want);
        assert.doesNotMatch(why!, /evil|example|nip/, 'the reason names no header value');
      }
    });
  }

  test('Host parsing is linear in the header and bounded', () => {
    const long = 'a'.repeat(100_000) + ':';
    const t = performance.now();
    assert.equal(hostOfHeader(long), undefined);
    assert.equal(hostOfHeader('['.repeat(250) + ']'), undefined);
    assert.ok(performance.now() - t < 50);
  });
});
