/**
 * Differential test: every corpus template renders to the same bytes, or fails with the same
 * message, in real Go (text/template as swarmkit configures it) and in our renderer. The few
 * deliberate differences are listed with their reason.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import driver from '../../drivers/golang.ts';
import type { RenderRequest } from '../../src/drivers/types.ts';
import { CORPUS } from './golang-corpus.ts';
import { goSkipReason, runOracle, type OracleCase } from './go-oracle.ts';

/** Cases where matching Go is impossible or undesirable, and what we compare instead. */
const DEVIATIONS: { template: string; why: string; expect: RegExp }[] = [
  {
    template: '{{$}}',
    why: 'Go prints unexported PayloadContext fields, including a pointer address; we print the exported part',
    expect: /^\{\{\{svc-id web map\[.*\]\} \{node-id {2}\{ \}\} \{task-id web\.1\.task-id 1\}\}\}$/,
  },
  {
    template: '{{range $i, $c := slice "abc" 0 0}}{{end}}',
    why: 'Go quotes the value (could be a secret); we name its type',
    expect: /range can't iterate over a value of type string$/,
  },
  {
    template: '{{range .Service.Name}}{{end}}',
    why: 'Go quotes the value; we name its type',
    expect: /at <\.Service\.Name>: range can't iterate over a value of type string$/,
  },
  { template: '{{range 5}}{{end}}', why: 'Go quotes the value; we name its type', expect: /range can't iterate over a value of type int$/ },
  {
    template: '{{define "r"}}{{template "r"}}{{end}}{{template "r"}}',
    why: "Go's depth limit is 100000; ours is 1000 (JS stack)",
    expect: /executing "r" at <\{\{template "r"\}\}>: exceeded maximum template depth \(1000\)$/,
  },
  {
    template: '{{eq .Service.Labels .Service.Labels}}',
    why: 'Go prints the map; we name its type',
    expect: /error calling eq: non-comparable type map\[string\]string$/,
  },
];

function request(c: OracleCase): RenderRequest {
  return {
    secretId: 'sid',
    secretName: 'name',
    context: {
      Service: { ID: 'svc-id', Name: 'web', Labels: c.labels ?? {} },
      Node: { ID: 'node-id', Hostname: '', Platform: { OS: '', Architecture: '' } },
      Task: { ID: 'task-id', Name: 'web.1.task-id', Slot: c.slot ?? '1' },
    },
    functions: {
      env: (n) => c.env?.[n] ?? '',
      secret: async (t) => {
        const v = c.secrets?.[t];
        if (v === undefined) throw new Error(`secret target ${t} not found`);
        return Buffer.from(v);
      },
      config: async (t) => {
        const v = c.configs?.[t];
        if (v === undefined) throw new Error(`config target ${t} not found`);
        return Buffer.from(v);
      },
    },
    options: {},
  };
}

async function ours(c: OracleCase): Promise<{ out?: string; err?: string }> {
  try {
    const out = await driver.render(Buffer.from(c.template), request(c));
    return { out: Buffer.from(out).toString('base64') };
  } catch (e) {
    return { err: (e as Error).message };
  }
}

const skip = goSkipReason();

test('every corpus template renders or fails exactly as Go text/template does', { skip }, async (t) => {
  const expected = runOracle(CORPUS);
  let matched = 0;
  const mismatches: string[] = [];
  for (const [i, c] of CORPUS.entries()) {
    const got = await ours(c);
    const want = expected[i]!;
    const dev = DEVIATIONS.find((d) => d.template === c.template);
    if (dev) {
      if (dev.expect) assert.match(got.err ?? Buffer.from(got.out ?? '', 'base64').toString(), dev.expect, c.template);
      continue;
    }
    if (got.out === want.out && got.err === want.err) {
      matched++;
      continue;
    }
    const show = (r: { out?: string; err?: string }) => (r.err !== undefined ? `ERR ${r.err}` : JSON.stringify(Buffer.from(r.out!, 'base64').toString()));
    mismatches.push(`${JSON.stringify(c.template)}\n   go:   ${show(want)}\n   ours: ${show(got)}`);
  }
  t.diagnostic(`${matched}/${CORPUS.length} cases identical to Go, ${DEVIATIONS.length} documented deviations`);
  assert.deepEqual(mismatches, [], `${mismatches.length} mismatches:\n${mismatches.join('\n')}`);
});
