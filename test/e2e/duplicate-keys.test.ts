/**
 * Keys repeated in a request's JSON, side by side with a live reference dockerd: Go's decoder sees
 * every occurrence (maps merge, structs keep what a later occurrence omits, an earlier type error
 * fails the request), where JSON.parse alone keeps the last. Each body is sent to both; the status,
 * the message (Engine 25 puts "invalid JSON: " before a decode error) and the secret created must
 * be the same.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { startDaemon, type Daemon } from '../helpers/daemon.ts';
import { request, type RawResponse } from '../helpers/http.ts';
import { referenceDockerd } from '../helpers/tools.ts';

const ref = referenceDockerd();
const skip = 'skip' in ref ? ref.skip : false;

interface Side {
  who: string;
  host: string;
  prefix: string;
  created: string[];
}
let daemon: Daemon;
let sides: Side[] = [];
before(async () => {
  if (skip) return;
  daemon = await startDaemon({ args: ['--log-level', 'warn'] });
  sides = [
    { who: 'reference dockerd', host: (ref as { host: string }).host, prefix: '/v1.41', created: [] },
    { who: 'secretd', host: daemon.host, prefix: '/v1.44', created: [] },
  ];
});
after(async () => {
  for (const s of sides) for (const id of s.created) await request(s.host, { method: 'DELETE', path: `${s.prefix}/secrets/${id}` });
  await daemon?.dispose();
});

// Every name of the run starts with this: the reference dockerd is shared.
const run = `dupkeys-${randomBytes(6).toString('hex')}`;
let serial = 0;

const create = (s: Side, body: string): Promise<RawResponse> =>
  request(s.host, { method: 'POST', path: `${s.prefix}/secrets/create`, headers: { 'Content-Type': 'application/json' }, body });

/** What a create left: the status, and the message or the spec as inspect shows it. */
async function outcome(s: Side, body: string): Promise<{ status: number; message?: string; spec?: unknown }> {
  const res = await create(s, body);
  if (res.status !== 201) return { status: res.status, message: (res.json as { message: string }).message };
  const { ID } = res.json as { ID: string };
  s.created.push(ID);
  const inspected = await request(s.host, { path: `${s.prefix}/secrets/${ID}` });
  assert.equal(inspected.status, 200, `${s.who}: ${inspected.text}`);
  return { status: 201, spec: (inspected.json as { Spec: unknown }).Spec };
}

/** A body template: NAME becomes a name of this run's own. */
const cases: [title: string, body: string][] = [
  ['Labels and labels merge', '{"Name":NAME,"Data":"eA==","Labels":{"a":"1"},"labels":{"b":"2"}}'],
  ['Labels given twice merge, the later value of a key winning', '{"Name":NAME,"Data":"eA==","Labels":{"a":"1","c":"4"},"Labels":{"b":"2","a":"3"}}'],
  ['a null after Labels clears them', '{"Name":NAME,"Data":"eA==","Labels":{"a":"1"},"Labels":null}'],
  ['a null after Name leaves it', '{"Name":NAME,"Name":null,"Data":"eA=="}'],
  ['a number in an earlier Name fails though a later one is a string', '{"Name":5,"Name":NAME,"Data":"eA=="}'],
  ['a number in an earlier name fails though a later Name is a string', '{"Name":5,"name":NAME,"Data":"eA=="}'],
  ['a label given twice fails on its earlier number', '{"Name":NAME,"Data":"eA==","Labels":{"a":1,"a":"x"}}'],
  [
    'Templating given again keeps the Options it omits',
    '{"Name":NAME,"Data":"eA==","Templating":{"Name":"golang","Options":{"k":"v"}},"templating":{"Name":"golang"}}',
  ],
  ['a null after Templating clears it', '{"Name":NAME,"Data":"eA==","Templating":{"Name":"golang"},"Templating":null}'],
  ['a null after Data leaves no data', '{"Name":NAME,"Data":"eA==","Data":null}'],
];

describe('repeated keys in a create body, against the reference dockerd', { skip }, () => {
  for (const [title, template] of cases) {
    test(title, async () => {
      const name = `${run}-${++serial}`;
      const body = template.replace('NAME', JSON.stringify(name));
      const [want, got] = [await outcome(sides[0]!, body), await outcome(sides[1]!, body)];
      assert.equal(got.status, want.status, `secretd: ${JSON.stringify(got)}, dockerd: ${JSON.stringify(want)}`);
      if (want.message !== undefined)
        assert.ok([want.message, `invalid JSON: ${want.message}`].includes(got.message!), `secretd said ${got.message}, dockerd ${want.message}`);
      else assert.deepEqual(got.spec, want.spec);
    });
  }
});

describe('repeated keys in list filters, against the reference dockerd', { skip }, () => {
  const list = (s: Side, filters: string) => request(s.host, { path: `${s.prefix}/secrets?filters=${encodeURIComponent(filters)}` });
  const names = async (s: Side, filters: string) => {
    const res = await list(s, filters);
    return { status: res.status, names: res.status === 200 ? (res.json as { Spec: { Name: string } }[]).map((x) => x.Spec.Name) : undefined };
  };

  test('the last occurrence of a key selects, on both', async () => {
    const name = `${run}-listed`;
    for (const s of sides) assert.equal((await outcome(s, JSON.stringify({ Name: name, Data: 'eA==' }))).status, 201, s.who);
    const none = `${run}-none`;
    for (const [filters, want] of [
      [`{"name":[${JSON.stringify(none)}],"name":[${JSON.stringify(name)}]}`, [name]],
      [`{"name":[${JSON.stringify(name)}],"name":[${JSON.stringify(none)}]}`, []],
      [`{"name":{${JSON.stringify(none)}:true},"name":{${JSON.stringify(name)}:true}}`, [name]],
    ] as const) {
      for (const s of sides) assert.deepEqual(await names(s, filters), { status: 200, names: want }, `${s.who}: ${filters}`);
    }
  });

  test('a key repeated in both encodings is refused by both', async () => {
    for (const filters of ['{"name":{"x":true},"name":["y"]}', '{"name":["x"],"name":{"y":true}}']) {
      // dockerd 20.10 answers its decode error with a 500; Engine 25, whose API secretd speaks, 400 "invalid filter".
      const [refused, got] = [await list(sides[0]!, filters), await list(sides[1]!, filters)];
      assert.match(refused.json.message, /^json: cannot unmarshal/, `reference dockerd: ${filters}`);
      assert.deepEqual({ status: got.status, json: got.json }, { status: 400, json: { message: 'invalid filter' } }, `secretd: ${filters}`);
    }
  });
});
