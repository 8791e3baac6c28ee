/**
 * Hostile input, property-based (fast-check): random and adversarial bodies, filters, paths,
 * headers and label maps at every endpoint of the real app. Every answer is a 2xx or a 4xx (or
 * one of dockerd's own 500s, with dockerd's words), never the generic "internal error"; no value
 * ever shows in an answer; and the secrets seeded first are exactly as they were afterwards.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { openTestCore, type CoreHandle, type CoreResponse } from '../helpers/core.ts';

const RUNS = Number(process.env.SECRETD_FUZZ_RUNS ?? 300);
const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');

/** dockerd's own 500s (kept for compatibility); anything else at 500 is a bug. */
const DOCKERD_500 = [/^rpc error: code = Unknown desc = update out of sequence$/, /^rpc error: code = Unknown desc = plugin ".*" not found$/s];

const SEEDED = [
  { name: 'seed.alpha', value: 'fuzz-value-alpha-7c1e', labels: { a: '1' } },
  { name: 'seed.beta', value: 'fuzz-value-beta-93d0', labels: { __proto__: 'x', b: '' } },
  { name: 'seed.gamma', value: 'fuzz-value-gamma-22af', labels: {} },
];

let api: CoreHandle;
let token: string;
let before_: string[];

async function snapshot(): Promise<string[]> {
  const res = await api.call('GET', '/secrets');
  assert.equal(res.status, 200);
  return (res.json as { ID: string; Version: { Index: number }; Spec: unknown }[])
    .filter((s) => (s.Spec as { Name: string }).Name.startsWith('seed.'))
    .map((s) => `${s.ID}@${s.Version.Index}:${JSON.stringify(s.Spec)}`)
    .sort();
}

/** The rules every answer obeys, whatever was asked. */
function checkAnswer(r: CoreResponse, what: string): void {
  assert.ok(r.status >= 200 && r.status < 600, `${what}: status ${r.status}`);
  if (r.status >= 500 && r.status !== 503) {
    const message = (r.json as { message?: string } | undefined)?.message ?? r.text;
    assert.ok(
      DOCKERD_500.some((re) => re.test(message)),
      `${what}: unexpected ${r.status} ${message}`,
    );
  }
  for (const s of SEEDED) {
    for (const form of [s.value, b64(s.value)]) assert.ok(!r.text.includes(form), `${what}: the answer holds a seeded value`);
  }
}

/** Strings that tend to break parsers and routers. */
const nasty = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(
    '__proto__',
    'constructor',
    'prototype',
    '..',
    '../..',
    '%',
    '%00',
    '\u0000',
    '\ud800',
    '{}',
    '[]',
    'null',
    '*',
    'seed.alpha',
    'SEED.ALPHA',
    'seed',
    '',
  ),
);

const labelMap = fc.dictionary(nasty, nasty, { maxKeys: 8 });

/** A SecretSpec-ish document: right keys with wrong types, wrong keys, nesting. */
const specBody = fc.record(
  {
    Name: fc.oneof(nasty, fc.constantFrom('seed.alpha', 'ok-name', 'x'.repeat(65)), fc.integer(), fc.constant(null)),
    Labels: fc.oneof(labelMap, fc.constant(null), fc.array(nasty), nasty),
    Data: fc.oneof(fc.base64String({ maxLength: 64 }), nasty, fc.integer(), fc.constant(null)),
    Driver: fc.oneof(fc.record({ Name: nasty, Options: fc.oneof(labelMap, nasty) }, { requiredKeys: [] }), nasty, fc.constant(null)),
    Templating: fc.oneof(fc.record({ Name: nasty }, { requiredKeys: [] }), fc.constant(null)),
  },
  { requiredKeys: [] },
);

const anyBody = fc.oneof(
  specBody,
  fc.jsonValue({ maxDepth: 4 }),
  fc.string({ maxLength: 200 }).map((s) => ({ raw: s })),
  fc.uint8Array({ maxLength: 200 }).map((u) => ({ raw: Buffer.from(u).toString('latin1') })),
);

const pct = (s: string) => [...Buffer.from(s, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');

/** Sends `body`: a raw string when wrapped as {raw}, JSON otherwise. */
function send(method: string, path: string, body: unknown, headers: Record<string, string> = {}) {
  const raw = typeof body === 'object' && body !== null && 'raw' in body && Object.keys(body).length === 1 ? (body as { raw: string }).raw : body;
  return api.call(method, path, raw, headers);
}

before(async () => {
  api = await openTestCore({ delivery: true });
  for (const s of SEEDED) {
    const r = await api.call('POST', '/secrets/create', { Name: s.name, Labels: s.labels, Data: b64(s.value) });
    assert.equal(r.status, 201, r.text);
  }
  token = (await api.call('POST', '/_secretd/v1/tokens', { Allow: ['seed.*'] })).json.Token;
  before_ = await snapshot();
});

after(() => api.dispose());

describe('hostile input', () => {
  test("create: any body is a 201, a 4xx or dockerd's own 500, and never reveals a value", async () => {
    await fc.assert(
      fc.asyncProperty(anyBody, async (body) => {
        const r = await send('POST', '/secrets/create', body);
        checkAnswer(r, `create ${JSON.stringify(body).slice(0, 200)}`);
        if (r.status === 201) await api.call('DELETE', `/secrets/${r.json.ID}`); // keep the store small
      }),
      { numRuns: RUNS },
    );
  });

  test('update: any body and version on a seeded secret is refused or changes only labels', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...SEEDED.map((s) => s.name)),
        fc.oneof(fc.nat(), fc.string({ maxLength: 12 }), fc.constantFrom('-1', '18446744073709551616', '1e3', '0x10', '')),
        anyBody,
        async (name, version, body) => {
          const r = await send('POST', `/secrets/${encodeURIComponent(name)}/update?version=${encodeURIComponent(String(version))}`, body);
          checkAnswer(r, `update ${name} v=${version}`);
          assert.notEqual(r.status, 200, "no random version can match a seeded secret's current one by chance here");
        },
      ),
      { numRuns: RUNS },
    );
  });

  test('list: any filters value is a 200 or a 400', async () => {
    const filters = fc.oneof(
      fc.string({ maxLength: 60 }),
      fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
      fc
        .dictionary(
          fc.constantFrom('name', 'names', 'id', 'label', 'bogus', '__proto__'),
          fc.oneof(fc.array(nasty, { maxLength: 3 }), fc.dictionary(nasty, fc.boolean(), { maxKeys: 3 })),
        )
        .map((v) => JSON.stringify(v)),
    );
    await fc.assert(
      fc.asyncProperty(filters, async (f) => {
        const r = await api.call('GET', `/secrets?filters=${encodeURIComponent(f)}`);
        checkAnswer(r, `list ${f}`);
        assert.ok(r.status === 200 || r.status === 400, `list ${f}: ${r.status}`);
      }),
      { numRuns: RUNS },
    );
  });

  test('paths: any ID or name in the path of inspect, delete (of what is not seeded) and delivery is answered cleanly', async () => {
    await fc.assert(
      fc.asyncProperty(nasty, fc.constantFrom('', '/v1.44', '/v1.24', '/v1.23', '/v9.99', '/vx'), fc.boolean(), async (id, prefix, invalidUtf8) => {
        // Every byte percent-encoded, or raw bytes that are not UTF-8 at all.
        const path = invalidUtf8 ? `%ED%A0%80${pct(id)}%FF` : pct(id);
        const inspected = await api.call('GET', `${prefix}/secrets/${path}`);
        checkAnswer(inspected, `inspect ${id}`);
        // Deleting is fair game for anything that does not name (or prefix) a seeded secret.
        if (inspected.status !== 200 || !String(inspected.json?.Spec?.Name).startsWith('seed.')) {
          checkAnswer(await api.call('DELETE', `${prefix}/secrets/${path}`), `delete ${id}`);
        }
        checkAnswer(await api.call('GET', `/_secretd/v1/secrets/${path}/value`, undefined, { authorization: `Bearer ${path}` }), `deliver ${id}`);
      }),
      { numRuns: RUNS },
    );
  });

  test('headers: any Content-Type, Content-Length-free body or Authorization is answered cleanly', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ maxLength: 40 }),
          fc.constantFrom(
            'application/json',
            'application/json; charset=utf-8',
            'text/plain',
            'application/x-www-form-urlencoded',
            'multipart/form-data; boundary=x',
          ),
        ),
        fc.oneof(
          fc.string({ maxLength: 80 }).filter((s) => /^[\x20-\x7e]*$/.test(s)),
          fc.constant(`Bearer ${'A'.repeat(100)}`),
        ),
        anyBody,
        async (contentType, authorization, body) => {
          const headers = { 'content-type': contentType.replace(/[^\x20-\x7e]/g, ''), authorization };
          checkAnswer(await send('POST', '/secrets/create', body, headers), `create with ${contentType}`);
          checkAnswer(await send('POST', '/_secretd/v1/secrets/seed.alpha/value', body, headers), 'deliver');
          checkAnswer(await send('POST', '/_secretd/v1/tokens', body, headers), 'token create');
        },
      ),
      { numRuns: RUNS },
    );
  });

  test('afterwards the seeded secrets are the same, at the same versions, with the same values', async () => {
    assert.deepEqual(await snapshot(), before_);
    for (const s of SEEDED) {
      const r = await api.call('GET', `/_secretd/v1/secrets/${s.name}/value`, undefined, { authorization: `Bearer ${token}` });
      assert.equal(r.status, 200);
      assert.equal(r.text, s.value);
    }
  });
});
