/**
 * readTarget (src/http/request-target.ts): the path as Go's server and dockerd's router read it.
 * Differential cases against a live dockerd are in test/e2e/request-paths.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { queryError, queryValue } from '../../src/http/form.ts';
import { cleanPath, readTarget } from '../../src/http/request-target.ts';

describe('readTarget', () => {
  test('a clean path is routed as sent, without its version', () => {
    assert.deepEqual(readTarget('/v1.44/secrets/abc?filters=x'), {
      target: { path: '/v1.44/secrets/abc', routed: '/secrets/abc', version: '1.44', query: 'filters=x' },
    });
    assert.deepEqual(readTarget('/_ping'), { target: { path: '/_ping', routed: '/_ping', query: '' } });
    assert.deepEqual(readTarget('http://localhost/v1.41/secrets'), { target: { path: '/v1.41/secrets', routed: '/secrets', version: '1.41', query: '' } });
  });

  test('escapes are decoded before routing; a decoded % reaches the route parameter as itself', () => {
    assert.deepEqual(readTarget('/v1.41/%73ecrets'), { target: { path: '/v1.41/%73ecrets', routed: '/secrets', version: '1.41', query: '' } });
    // Go reads a%2525b as a%25b; Hono decodes the parameter once, so it is routed as a%2525b.
    const routed = readTarget('/v1.41/secrets/a%2525b');
    assert.deepEqual(routed, { target: { path: '/v1.41/secrets/a%2525b', routed: '/secrets/a%2525b', version: '1.41', query: '' } });
    assert.equal(decodeURIComponent('a%2525b'), 'a%25b');
    assert.deepEqual(readTarget('/v1.41/secrets/a%2Fb'), { target: { path: '/v1.41/secrets/a%2Fb', routed: '/secrets/a/b', version: '1.41', query: '' } });
  });

  test('a bad escape is a bad request', () => {
    for (const p of ['/v1.41/secrets/%zz', '/v1.41/secrets/%', '/v1.41/secrets/%4', '/%g0']) assert.deepEqual(readTarget(p), { badRequest: true }, p);
  });

  test('a path that is not clean redirects to its cleaned form, escaped as Go escapes it, with the query as sent', () => {
    const cases: [string, string][] = [
      ['//v1.41/secrets', '/v1.41/secrets'],
      ['/v1.41/./secrets', '/v1.41/secrets'],
      ['/v1.41/secrets/%2e%2e/secrets?filters=%zz', '/v1.41/secrets?filters=%zz'],
      ['/v1.41/secrets/a%20b/./', '/v1.41/secrets/a%20b/'],
      ['/v1.41/secrets/a!b*(c)$&+,:;=@~/.', '/v1.41/secrets/a%21b%2A%28c%29$&+,:;=@~'],
      ['/v1.41/secrets/%E4%B8%AD/x/..', '/v1.41/secrets/%E4%B8%AD'],
      ['/../..', '/'],
    ];
    for (const [raw, location] of cases) assert.deepEqual(readTarget(raw), { redirect: location }, raw);
  });

  test('cleanPath is gorilla/mux cleanPath: rooted, dot segments resolved, a trailing slash kept', () => {
    assert.equal(cleanPath(''), '/');
    assert.equal(cleanPath('a/b/'), '/a/b/');
    assert.equal(cleanPath('/a/../../b'), '/b');
    assert.equal(cleanPath('/a/./b/.'), '/a/b');
    assert.equal(cleanPath('/.../a'), '/.../a');
    assert.equal(cleanPath('/'), '/');
  });

  test('paths as long as a request line may be (1 MiB) are read whole', () => {
    const read = readTarget(`/v1.41/secrets/${'%41'.repeat(300_000)}`);
    assert.ok('target' in read && read.target.routed === `/secrets/${'A'.repeat(300_000)}`);
    assert.deepEqual(readTarget(`/v1.41/secrets/${'a/../'.repeat(200_000)}x`), { redirect: '/v1.41/secrets/x' });
  });
});

describe('queryError (src/http/form.ts): url.ParseQuery', () => {
  test('a bad escape in any key or value, the first one; a semicolon over any other error', () => {
    assert.equal(queryError(''), undefined);
    assert.equal(queryError('filters=%7B%7D&x=a+b&&y'), undefined);
    assert.equal(queryError('x=%zz&y=%qq'), 'invalid URL escape "%zz"');
    assert.equal(queryError('%4=1'), 'invalid URL escape "%4="');
    assert.equal(queryError('x=1%'), 'invalid URL escape "%"');
    assert.equal(queryError('x=%zz&a;b'), 'invalid semicolon separator in query');
    assert.equal(queryError('a;b&x=%zz'), 'invalid semicolon separator in query');
    assert.equal(queryError(`x=${'%41'.repeat(300_000)}`), undefined);
  });
});

describe('queryValue (src/http/form.ts): url.ParseQuery, then Get', () => {
  test('keys and values decoded, + a space, the first value kept, pairs Go leaves out skipped', () => {
    assert.equal(queryValue('version=12', 'version'), '12');
    assert.equal(queryValue('%76ersion=1&version=2', 'version'), '1');
    assert.equal(queryValue('filters=%7B%22a%22%3A1%7D', 'filters'), '{"a":1}');
    assert.equal(queryValue('q=a+b%2Bc', 'q'), 'a b+c');
    assert.equal(queryValue('version=%zz&version=3', 'version'), '3');
    assert.equal(queryValue('version=1;x', 'version'), undefined);
    assert.equal(queryValue('force', 'force'), '');
    assert.equal(queryValue('Version=1', 'version'), undefined);
    assert.equal(queryValue('q=%E4%B8%AD%ff', 'q'), '中\ufffd');
  });
});
