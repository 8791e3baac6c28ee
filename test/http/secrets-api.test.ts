/**
 * The Engine API's secret endpoints through the real app in-process: request decoding,
 * validation, error wording, and that a refused request changes nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openTestCore, type CoreHandle } from '../helpers/core.ts';

const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');
let api: CoreHandle;
before(async () => (api = await openTestCore()));
after(async () => api.dispose());

/** Every secret with its version: what must not change when a request is refused. */
async function snapshot() {
  const res = await api.call('GET', '/secrets');
  assert.equal(res.status, 200);
  return (res.json as any[]).map((s) => `${s.ID}@${s.Version.Index}:${JSON.stringify(s.Spec)}`).sort();
}

describe('create', () => {
  test('answers 201 with a 25-character ID, and inspect never shows Data', async () => {
    const res = await api.call('POST', '/secrets/create', { Name: 'c-basic', Data: b64('hello'), Labels: { a: 'b' } });
    assert.equal(res.status, 201);
    assert.match(res.json.ID, /^[a-z0-9]{25}$/);
    assert.equal(res.headers.get('content-type'), 'application/json');
    assert.ok(res.text.endsWith('}\n'), 'Go encoders end JSON with a newline');
    const got = await api.call('GET', `/secrets/${res.json.ID}`);
    assert.deepEqual(got.json.Spec, { Name: 'c-basic', Labels: { a: 'b' } });
    assert.equal(got.json.CreatedAt, got.json.UpdatedAt);
    assert.match(got.json.CreatedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/);
  });

  test('matches keys case-insensitively, ignores unknown keys and takes null as empty', async () => {
    const res = await api.call('POST', '/secrets/create', { name: 'c-lower', data: b64('x'), labels: null, Bogus: 1, version: 3 });
    assert.equal(res.status, 201);
    const got = await api.call('GET', '/secrets/c-lower');
    assert.deepEqual(got.json.Spec, { Name: 'c-lower', Labels: {} });
  });

  test('keeps hostile label keys as plain keys', async () => {
    const body = '{"Name":"c-proto","Data":"eA==","Labels":{"__proto__":"x","constructor":"y","":"z","toString":"w"}}';
    const res = await api.call('POST', '/secrets/create', body);
    assert.equal(res.status, 201);
    const got = await api.call('GET', '/secrets/c-proto');
    assert.deepEqual(Object.keys(got.json.Spec.Labels).sort(), ['', '__proto__', 'constructor', 'toString']);
    assert.equal(({} as any).x, undefined);
    const filtered = await api.call('GET', `/secrets?filters=${encodeURIComponent('{"label":["__proto__=x"]}')}`);
    assert.deepEqual(
      filtered.json.map((s: any) => s.Spec.Name),
      ['c-proto'],
    );
    const none = await api.call('GET', `/secrets?filters=${encodeURIComponent('{"label":["hasOwnProperty"]}')}`);
    assert.deepEqual(none.json, []);
  });

  test('accepts 1000 labels', async () => {
    const Labels = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`k${i}`, `v${i}`]));
    assert.equal((await api.call('POST', '/secrets/create', { Name: 'c-many', Data: b64('x'), Labels })).status, 201);
    assert.equal(Object.keys((await api.call('GET', '/secrets/c-many')).json.Spec.Labels).length, 1000);
  });

  const refused: [title: string, body: unknown, status: number, message: RegExp, headers?: Record<string, string>][] = [
    ['a top-level array', '[]', 400, /^invalid JSON: json: cannot unmarshal array into Go value of type swarm\.SecretSpec$/],
    ['a top-level string', '"x"', 400, /^invalid JSON: json: cannot unmarshal string into Go value of type swarm\.SecretSpec$/],
    ['null', 'null', 400, /name must be provided$/],
    ['a number for Name', { Name: 5, Data: 'eA==' }, 400, /^invalid JSON: json: cannot unmarshal number into Go struct field SecretSpec\.Name of type string$/],
    ['a nested label map', { Name: 'c-x', Data: 'eA==', Labels: { a: { b: 'c' } } }, 400, /Go struct field SecretSpec\.Labels of type string$/],
    ['Driver as a string', { Name: 'c-x', Driver: 'p' }, 400, /Go struct field SecretSpec\.Driver of type swarm\.Driver$/],
    ['Driver without a name', { Name: 'c-x', Driver: { Options: { a: 'b' } } }, 400, /desc = secret driver must have a name$/],
    ['an unknown driver', { Name: 'c-x', Driver: { Name: 'nope' } }, 500, /^rpc error: code = Unknown desc = plugin "nope" not found$/],
    [
      'Templating below API 1.37',
      { Name: 'c-x', Data: 'eA==', Templating: { Name: 'golang' } },
      400,
      /^secret templating is not supported on the specified API version: 1\.36$/,
    ],
    ['malformed JSON', '{"Name":', 400, /^invalid JSON: unexpected EOF$/],
    ['trailing content', '{"Name":"c-x","Data":"eA=="} {}', 400, /^unexpected content after JSON$/],
    ['whitespace only', '   ', 400, /^invalid JSON: got EOF while reading request body$/],
    [
      'a wrong Content-Type',
      { Name: 'c-x', Data: 'eA==' },
      400,
      /^unsupported Content-Type header \(text\/plain\): must be 'application\/json'$/,
      { 'content-type': 'text/plain' },
    ],
    [
      'a malformed Content-Type',
      { Name: 'c-x', Data: 'eA==' },
      400,
      /^malformed Content-Type header \(application\/json;;x\): mime: invalid media parameter$/,
      { 'content-type': 'application/json;;x' },
    ],
    ['whitespace-only data that is not base64', { Name: 'c-x', Data: ' ' }, 400, /^invalid JSON: illegal base64 data at input byte 0$/],
    ['a name with a slash', { Name: 'c/x', Data: 'eA==' }, 400, /desc = invalid name, only 64/],
    ['data of 512000 bytes', { Name: 'c-x', Data: b64(Buffer.alloc(512000, 1)) }, 400, /desc = secret data must be larger than 0 and less than 512000 bytes$/],
  ];
  for (const [what, body, status, message, headers] of refused) {
    test(`refuses ${what} with ${status} and changes nothing`, async () => {
      const beforeState = await snapshot();
      const path = what.startsWith('Templating') ? '/v1.36/secrets/create' : '/secrets/create';
      const res = await api.call('POST', path, body, headers);
      assert.equal(res.status, status, res.text);
      assert.match(res.json?.message ?? '', message);
      assert.equal(res.headers.get('content-type'), 'application/json');
      assert.deepEqual(await snapshot(), beforeState);
    });
  }

  test('refuses a body over 4 MiB before parsing it', async () => {
    const big = `{"Name":"c-big","Data":"${'A'.repeat(5 * 1024 * 1024)}"}`;
    const res = await api.call('POST', '/secrets/create', big);
    assert.equal(res.status, 400);
    assert.match(res.json.message, /^request body is larger than 4194304 bytes$/);
    assert.equal((await api.call('GET', '/secrets/c-big')).status, 404);
  });

  test('refuses a chunked body over 4 MiB while reading it', async () => {
    const chunk = new TextEncoder().encode('A'.repeat(1024 * 1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(ctrl) {
        if (sent++ < 6) ctrl.enqueue(chunk);
        else ctrl.close();
      },
    });
    const res = await api.fetch(
      new Request('http://secretd/secrets/create', {
        method: 'POST',
        body: stream,
        headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
        duplex: 'half',
      } as RequestInit),
    );
    assert.equal(res.status, 400);
    assert.match(((await res.json()) as { message: string }).message, /larger than/);
  });

  test('answers 409 to every create of a taken name but one, also when they race', async () => {
    const results = await Promise.all(
      Array.from({ length: 25 }, (_, i) => api.call('POST', '/secrets/create', { Name: i % 2 ? 'C-RACE' : 'c-race', Data: b64(`v${i}`) })),
    );
    const statuses = results.map((r) => r.status).sort();
    assert.deepEqual(statuses, [201, ...Array(24).fill(409)]);
    const conflict = results.find((r) => r.status === 409)!;
    assert.match(conflict.json.message, /^rpc error: code = AlreadyExists desc = secret c-race already exists$/i);
    const listed = await api.call('GET', `/secrets?filters=${encodeURIComponent('{"names":["c-race"]}')}`);
    assert.equal(listed.json.length, 1);
  });
});

describe('inspect, update and delete', () => {
  test('find a secret by full ID, by name in any case and by unique ID prefix', async () => {
    const { json } = await api.call('POST', '/secrets/create', { Name: 'r-Find', Data: b64('x') });
    for (const key of [json.ID, 'r-find', 'R-FIND', json.ID.slice(0, 15)]) {
      const res = await api.call('GET', `/secrets/${key}`);
      assert.equal(res.status, 200, key);
      assert.equal(res.json.ID, json.ID);
    }
    assert.equal((await api.call('GET', `/secrets/${json.ID.toUpperCase().slice(0, 15)}`)).status, 404);
    assert.equal((await api.call('GET', '/secrets/r-fin')).status, 404, 'a name prefix is not a name');
  });

  test('update replaces labels only, refuses renames and other data, and checks the version', async () => {
    const { json } = await api.call('POST', '/secrets/create', { Name: 'u-a', Data: b64('same'), Labels: { old: '1' } });
    const v1 = (await api.call('GET', `/secrets/${json.ID}`)).json;
    const rename = await api.call('POST', `/secrets/${json.ID}/update?version=${v1.Version.Index}`, { Name: 'u-b', Labels: {} });
    assert.equal(rename.status, 400);
    assert.match(rename.json.message, /only updates to Labels are allowed$/);
    const otherData = await api.call('POST', `/secrets/${json.ID}/update?version=${v1.Version.Index}`, { Name: 'u-a', Data: b64('other') });
    assert.equal(otherData.status, 400);
    const ok = await api.call('POST', `/secrets/u-a/update?version=${v1.Version.Index}`, { Name: 'u-a', Data: b64('same'), Labels: { new: '2' } });
    assert.equal(ok.status, 200);
    assert.equal(ok.text, '');
    assert.equal(ok.headers.get('content-type'), null);
    const v2 = (await api.call('GET', `/secrets/${json.ID}`)).json;
    assert.deepEqual(v2.Spec.Labels, { new: '2' });
    assert.ok(v2.Version.Index > v1.Version.Index);
    assert.equal(v2.CreatedAt, v1.CreatedAt);
    assert.ok(v2.UpdatedAt > v1.UpdatedAt);
    const stale = await api.call('POST', `/secrets/${json.ID}/update?version=${v1.Version.Index}`, { Name: 'u-a', Labels: { x: 'y' } });
    assert.equal(stale.status, 500);
    assert.equal(stale.json.message, 'rpc error: code = Unknown desc = update out of sequence');
    const huge = await api.call('POST', `/secrets/${json.ID}/update?version=18446744073709551615`, { Name: 'u-a' });
    assert.equal(huge.status, 500);
    for (const bad of ['', 'abc', '-1', '18446744073709551616', '1.0']) {
      const res = await api.call('POST', `/secrets/${json.ID}/update?version=${bad}`, { Name: 'u-a' });
      assert.equal(res.status, 400, bad);
      assert.equal(res.json.message, 'invalid secret version');
    }
    assert.deepEqual((await api.call('GET', `/secrets/${json.ID}`)).json, v2);
  });

  test('two updates racing with one version: exactly one wins', async () => {
    const { json } = await api.call('POST', '/secrets/create', { Name: 'u-race', Data: b64('x') });
    const v = (await api.call('GET', `/secrets/${json.ID}`)).json.Version.Index;
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => api.call('POST', `/secrets/${json.ID}/update?version=${v}`, { Name: 'u-race', Labels: { i: String(i) } })),
    );
    assert.deepEqual(results.map((r) => r.status).sort(), [200, ...Array(9).fill(500)]);
  });

  test('an update racing a delete ends as 200 or 404, never a 500 other than out of sequence', async () => {
    const { json } = await api.call('POST', '/secrets/create', { Name: 'u-del', Data: b64('x') });
    const v = (await api.call('GET', `/secrets/${json.ID}`)).json.Version.Index;
    const [upd, del] = await Promise.all([
      api.call('POST', `/secrets/${json.ID}/update?version=${v}`, { Name: 'u-del', Labels: { a: 'b' } }),
      api.call('DELETE', `/secrets/${json.ID}`),
    ]);
    assert.equal(del.status, 204);
    assert.ok([200, 404].includes(upd.status), `update answered ${upd.status} ${upd.text}`);
    assert.equal((await api.call('GET', `/secrets/${json.ID}`)).status, 404);
  });

  test('concurrent deletes: one 204, the others 404', async () => {
    const { json } = await api.call('POST', '/secrets/create', { Name: 'd-race', Data: b64('x') });
    const results = await Promise.all(Array.from({ length: 5 }, () => api.call('DELETE', `/secrets/${json.ID}`)));
    assert.deepEqual(results.map((r) => r.status).sort(), [204, 404, 404, 404, 404]);
  });

  test('an ambiguous ID prefix is a 400 naming the number of matches', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) ids.push((await api.call('POST', '/secrets/create', { Name: `amb-${i}`, Data: b64('x') })).json.ID);
    const first = ids.map((id) => id[0]!);
    const shared = first.find((c, i) => first.indexOf(c) !== i)!;
    const count = (await api.call('GET', '/secrets')).json.filter((s: any) => s.ID.startsWith(shared)).length;
    const res = await api.call('GET', `/secrets/${shared}`);
    assert.equal(res.status, 400);
    assert.equal(res.json.message, `secret ${shared} is ambiguous (${count} matches found)`);
  });
});

describe('repeated reads', () => {
  // Answers are kept while the store is unchanged (src/secrets/answer-cache.ts): every write must show at once.
  test('an inspect or a list answered before a create, update or delete is never answered after it', async () => {
    const filter = `/secrets?filters=${encodeURIComponent('{"name":{"rr-":true}}')}`;
    const names = async () => (await api.call('GET', filter)).json.map((s: any) => `${s.Spec.Name}@${s.Version.Index}:${JSON.stringify(s.Spec.Labels)}`);
    assert.equal((await api.call('GET', '/secrets/rr-a')).status, 404);
    assert.deepEqual(await names(), []);
    const a = (await api.call('POST', '/secrets/create', { Name: 'rr-a', Data: b64('x'), Labels: { k: '1' } })).json.ID as string;
    const v1 = (await api.call('GET', '/secrets/rr-a')).json;
    assert.equal(v1.ID, a);
    assert.deepEqual(await names(), [`rr-a@${v1.Version.Index}:{"k":"1"}`]);
    // An ID prefix's answer names how many secrets share it: one more, then one fewer.
    const p = a[0]!;
    const prefixAnswer = async () => {
      const res = await api.call('GET', `/secrets/${p}`);
      return res.status === 200 ? res.json.ID : res.json.message;
    };
    const sharing = async () => (await api.call('GET', '/secrets')).json.filter((s: any) => s.ID.startsWith(p)).length;
    const expected = (n: number) => (n === 1 ? a : `secret ${p} is ambiguous (${n} matches found)`);
    const before = await sharing();
    assert.equal(await prefixAnswer(), expected(before));
    let b = '';
    for (let i = 0; b === ''; i++) {
      const id = (await api.call('POST', '/secrets/create', { Name: `rr-b${i}`, Data: b64('x') })).json.ID as string;
      if (id.startsWith(p)) b = id;
      else assert.equal((await api.call('DELETE', `/secrets/${id}`)).status, 204);
    }
    assert.equal(await prefixAnswer(), expected(before + 1));
    assert.equal((await api.call('DELETE', `/secrets/${b}`)).status, 204);
    assert.equal(await prefixAnswer(), expected(before));
    assert.equal((await api.call('POST', `/secrets/${a}/update?version=${v1.Version.Index}`, { Name: 'rr-a', Labels: { k: '2' } })).status, 200);
    const v2 = (await api.call('GET', '/secrets/rr-a')).json;
    assert.deepEqual(v2.Spec.Labels, { k: '2' });
    assert.deepEqual(await names(), [`rr-a@${v2.Version.Index}:{"k":"2"}`]);
    assert.equal((await api.call('DELETE', '/secrets/rr-a')).status, 204);
    assert.equal((await api.call('GET', '/secrets/rr-a')).status, 404);
    assert.equal((await api.call('GET', `/secrets/${a}`)).status, 404);
    assert.deepEqual(await names(), []);
  });
});

describe('list filters', () => {
  test('refuses unknown keys and malformed filters with 400', async () => {
    for (const [filters, message] of [
      ['{"bogus":["x"]}', "invalid filter 'bogus'"],
      ['{bad', 'invalid filter'],
      ['{"name":"x"}', 'invalid filter'],
      ['{"name":{"a":true},"label":["x"]}', 'invalid filter'],
    ]) {
      const res = await api.call('GET', `/secrets?filters=${encodeURIComponent(filters!)}`);
      assert.equal(res.status, 400, filters);
      assert.equal(res.json.message, message);
    }
  });

  // ~1000 values in one filter were a 500 (SQLite expression depth); dockerd takes them all.
  for (const key of ['name', 'names', 'id']) {
    test(`5000 values in the ${key} filter list the secrets they select, in both encodings`, async () => {
      const created = await api.call('POST', '/secrets/create', { Name: `many-${key}`, Data: 'eA==' });
      assert.equal(created.status, 201);
      const wanted = key === 'id' ? created.json.ID : `many-${key}`;
      const values = [...Array.from({ length: 5000 }, (_, i) => `no-such-${i}`), wanted];
      for (const doc of [{ [key]: values }, { [key]: Object.fromEntries(values.map((v) => [v, true])) }]) {
        const res = await api.call('GET', `/secrets?filters=${encodeURIComponent(JSON.stringify(doc))}`);
        assert.equal(res.status, 200, res.text);
        assert.deepEqual(
          res.json.map((s: { Spec: { Name: string } }) => s.Spec.Name),
          [`many-${key}`],
        );
      }
    });
  }
});

describe('the HTTP edge', () => {
  test('HEAD is routed for /_ping only, with Content-Length 0 and no body', async () => {
    const ping = await api.call('HEAD', '/v1.44/_ping');
    assert.equal(ping.status, 200);
    assert.equal(ping.text, '');
    assert.equal(ping.headers.get('content-length'), '0');
    assert.equal(ping.headers.get('swarm'), 'active/manager');
    assert.equal((await api.call('HEAD', '/secrets')).status, 404);
    assert.equal((await api.call('HEAD', '/v1.44/version')).status, 404);
  });

  test('unknown routes carry no version headers; known ones carry all of them', async () => {
    const miss = await api.call('GET', '/v1.44/nope');
    assert.equal(miss.status, 404);
    assert.equal(miss.headers.get('api-version'), null);
    const hit = await api.call('GET', '/v1.44/secrets');
    assert.equal(hit.headers.get('api-version'), '1.44');
    assert.equal(hit.headers.get('ostype'), 'linux');
    assert.equal(hit.headers.get('docker-experimental'), 'false');
    assert.match(hit.headers.get('server') ?? '', /^Docker\/\S+ \(linux\)$/);
  });

  test('a too-new version answer has no Docker-Experimental header, as dockerd', async () => {
    const res = await api.call('GET', '/v1.45/secrets');
    assert.equal(res.status, 400);
    assert.equal(res.headers.get('docker-experimental'), null);
    assert.equal(res.headers.get('api-version'), '1.44');
  });
});
