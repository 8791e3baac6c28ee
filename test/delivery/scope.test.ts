/**
 * A consumer token learns nothing outside its scope. Every probe (by name in any case, full ID,
 * every ID prefix — ambiguous ones mixing in- and out-of-scope secrets included — and a
 * template's `secret "x"`) is answered once while 20 out-of-scope secrets exist and once after
 * they were removed: status, body, headers and the audit record must be the same both times.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { openTestCore, type CoreHandle } from '../helpers/core.ts';

const OUT_OF_SCOPE = 20;
let core: CoreHandle;
let token: string;
const inScope: { id: string; name: string }[] = [];
const outside: { id: string; name: string }[] = [];

async function create(name: string, data: string, templating?: string): Promise<string> {
  const body: Record<string, unknown> = { Name: name, Data: Buffer.from(data).toString('base64') };
  if (templating) body.Templating = { Name: templating };
  const r = await core.call('POST', '/secrets/create', body);
  assert.equal(r.status, 201, r.text);
  return r.json.ID as string;
}

before(async () => {
  core = await openTestCore({ delivery: true, audit: true });
  const t = await core.call('POST', '/_secretd/v1/tokens', { Allow: ['app.*'] });
  assert.equal(t.status, 201, t.text);
  token = t.json.Token;
  for (let i = 0; i < 20; i++) {
    const name = `app.s${i}`;
    inScope.push({ id: await create(name, `in-${i}`), name });
  }
  inScope.push({ id: await create('app.tmpl', 'v={{secret "x"}}', 'golang'), name: 'app.tmpl' });
  for (let i = 0; i < OUT_OF_SCOPE; i++) {
    const name = `other.secret${i}`;
    outside.push({ id: await create(name, `out-${i}`), name });
  }
});
after(() => core.dispose());

interface Probe {
  what: string;
  path: string;
  body?: unknown;
}

function probes(): Probe[] {
  const list: Probe[] = [];
  const value = (ref: string) => `/_secretd/v1/secrets/${encodeURIComponent(ref)}/value`;
  for (const s of outside) {
    list.push({ what: `name ${s.name}`, path: value(s.name) }, { what: `upper-case ${s.name}`, path: value(s.name.toUpperCase()) });
    list.push({ what: `full ID of ${s.name}`, path: value(s.id) });
    // Every prefix: the short ones also match in-scope IDs (ambiguous or not), the long ones only this one.
    for (let n = 1; n < s.id.length; n++) list.push({ what: `ID prefix ${s.id.slice(0, n)}`, path: value(s.id.slice(0, n)) });
    for (const ref of [s.name, s.id, s.id.slice(0, 6)]) {
      list.push({ what: `template secret → ${ref}`, path: value('app.tmpl'), body: { Task: { ID: 'probe' }, Secrets: [{ Secret: ref, Target: 'x' }] } });
    }
  }
  for (const s of inScope) for (let n = 1; n <= 3; n++) list.push({ what: `in-scope ID prefix ${s.id.slice(0, n)}`, path: value(s.id.slice(0, n)) });
  return list;
}

interface Seen {
  status: number;
  text: string;
  headers: [string, string][];
}

async function ask(p: Probe): Promise<Seen> {
  const r = await core.call(p.body === undefined ? 'GET' : 'POST', p.path, p.body, { Authorization: `Bearer ${token}` });
  const headers = [...r.headers.entries()].filter(([k]) => k !== 'date').sort(([a], [b]) => (a < b ? -1 : 1));
  return { status: r.status, text: r.text, headers };
}

/**
 * The delivery records, each without its place in the chain (seq, time, prev) and the store
 * checkpoint stamped on it (the count of commits, which the deletions between runs advance).
 */
function deliveryRecords(): string[] {
  return readFileSync(join(core.dataRoot, 'audit.log'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((r) => r.action === 'secret.deliver')
    .map(({ seq: _s, time: _t, prev: _p, store: _c, ...rest }) => JSON.stringify(rest));
}

test('every probe of an out-of-scope secret is answered exactly as if it did not exist', async () => {
  const all = probes();
  const auditBefore = deliveryRecords().length;
  const withThem: Seen[] = [];
  for (const p of all) withThem.push(await ask(p));
  const auditWith = deliveryRecords().slice(auditBefore);

  for (const s of outside) assert.equal((await core.call('DELETE', `/secrets/${s.id}`)).status, 204);
  const auditMark = deliveryRecords().length;
  const without: Seen[] = [];
  for (const p of all) without.push(await ask(p));
  const auditWithout = deliveryRecords().slice(auditMark);

  for (const [i, p] of all.entries()) assert.deepEqual(withThem[i], without[i], `${p.what}: the answer depends on out-of-scope secrets`);
  assert.deepEqual(auditWith, auditWithout, 'the audit records depend on out-of-scope secrets');

  // Nothing out of scope shows, unless the probe itself sent it ("secret NAME not found").
  for (const [i, w] of withThem.entries()) {
    const p = all[i]!;
    const sent = decodeURIComponent(p.path + JSON.stringify(p.body ?? '')).toLowerCase();
    for (const s of outside) {
      for (const known of [s.name.toLowerCase(), s.id]) {
        if (!sent.includes(known)) assert.ok(!w.text.toLowerCase().includes(known), `${p.what} showed ${known}: ${w.text}`);
      }
      assert.ok(!w.text.includes(`out-${s.name.slice('other.secret'.length)}`), `${p.what} showed a value`);
    }
    // A short prefix may pick out one in-scope secret: then that one is delivered.
    if (w.status === 200) assert.match(w.text, /^(v=)?in-\d+$/, `${p.what} delivered ${w.text}`);
  }
});

test('out-of-scope answers are the missing-secret 404 and the audit records the reference as asked', async () => {
  const r = await ask({ what: 'name', path: '/_secretd/v1/secrets/other.nothing/value' });
  assert.equal(r.status, 404);
  assert.equal(JSON.parse(r.text).message, 'secret other.nothing not found');
  const last = JSON.parse(deliveryRecords().at(-1)!);
  assert.deepEqual(last.secret, { ref: 'other.nothing' });
  assert.equal(last.result, 'not_found');
});

test('in scope still resolves by name, full ID and unique ID prefix; an in-scope ambiguity counts in-scope secrets only', async () => {
  const s = inScope[0]!;
  for (const ref of [s.name, s.name.toUpperCase(), s.id, s.id.slice(0, 12)]) {
    const r = await ask({ what: ref, path: `/_secretd/v1/secrets/${ref}/value` });
    assert.equal(r.status, 200, `${ref}: ${r.text}`);
    assert.equal(r.text, 'in-0');
  }
  const tmpl = await ask({ what: 'template', path: '/_secretd/v1/secrets/app.tmpl/value', body: { Secrets: [{ Secret: s.name, Target: 'x' }] } });
  assert.equal(tmpl.text, 'v=in-0');
  // A one-character prefix shared by several in-scope IDs: the count is of those alone.
  const byFirst = new Map<string, number>();
  for (const x of inScope) byFirst.set(x.id[0]!, (byFirst.get(x.id[0]!) ?? 0) + 1);
  const [prefix, count] = [...byFirst].find(([, n]) => n > 1) ?? [];
  if (prefix) {
    const r = await ask({ what: prefix, path: `/_secretd/v1/secrets/${prefix}/value` });
    assert.equal(r.status, 400);
    assert.equal(JSON.parse(r.text).message, `secret ${prefix} is ambiguous (${count} matches found)`);
  }
});
