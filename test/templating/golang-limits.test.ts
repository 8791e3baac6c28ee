/**
 * The render's bounds (src/templating/golang/limits.ts) against templates built to blow up:
 * each ends quickly in a limit TemplateError (never a crash, never minutes, never gigabytes),
 * and a long render lets the event loop run while it works.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import driver from '../../drivers/golang.ts';
import type { RenderRequest } from '../../src/drivers/types.ts';
import { DEFAULT_MAX_ALLOC_BYTES, renderTemplate, TemplateError } from '../../src/templating/golang/index.ts';

function request(labels: Record<string, string> = {}): RenderRequest {
  return {
    secretId: 'id',
    secretName: 'name',
    context: {
      Service: { ID: 'svc', Name: 'web', Labels: labels },
      Node: { ID: 'node', Hostname: 'h', Platform: { OS: 'linux', Architecture: 'amd64' } },
      Task: { ID: 'task', Name: 'web.1.task', Slot: '1' },
    },
    functions: {
      env: () => '',
      secret: async (t) => {
        throw new Error(`secret target ${t} not found`);
      },
      config: async (t) => {
        throw new Error(`config target ${t} not found`);
      },
    },
    options: {},
  };
}

/** `{{$x := SEED}}` then `$x = STEP` n times: a value of |SEED|·2^n bytes, from a tiny template. */
const doubled = (seed: string, n: number, step = 'print $x $x') => `{{$x := ${seed}}}${`{{$x = ${step}}}`.repeat(n)}`;

const BUDGET = `values built exceed ${DEFAULT_MAX_ALLOC_BYTES} bytes`;
const OUTPUT = 'rendered output exceeds 511999 bytes';

const hostile: [what: string, template: string, message: string, labels?: Record<string, string>][] = [
  // The one found: ~700 bytes that doubled a variable 23 times, then printf "%q" (35 s, 2.3 GB).
  ['print doubling 23 times, then printf %q', `${doubled('"ab"', 23)}{{printf "%q" $x}}`, BUDGET],
  ['print doubling 30 times', doubled('"ab"', 30), BUDGET],
  ['printf doubling', doubled('"ab"', 30, 'printf "%s%s" $x $x'), BUDGET],
  ['join doubling', doubled('"ab"', 30, 'join "" $x $x'), BUDGET],
  ['one join of many copies of a big value', `${doubled('"ab"', 20)}{{join $x $x $x $x $x $x $x $x $x $x}}`, BUDGET],
  ['one print of many copies of a big value', `${doubled('"ab"', 20)}{{print $x $x $x $x $x $x $x $x $x $x}}`, BUDGET],
  ['printf %q of a big binary value', `${doubled('"\\x00\\xff"', 21)}{{printf "%q" $x}}`, BUDGET],
  ['printf % #x of a big value', `${doubled('"ab"', 21)}{{printf "% #x" $x}}`, BUDGET],
  ['html of html of a big value', `${doubled('"<&"', 20)}{{$x = html $x}}{{$x = html $x}}{{$x = html $x}}`, BUDGET],
  ['js of a big value', `${doubled('"<\\x01"', 21)}{{$x = js $x}}{{$x = js $x}}`, BUDGET],
  ['urlquery of a big value', `${doubled('"/ "', 21)}{{$x = urlquery $x}}{{$x = urlquery $x}}`, BUDGET],
  ['a huge printf width', '{{printf "%0999999999d" 1}}', OUTPUT],
  ['many million-wide fields', `{{$x := printf "${'%01000000d'.repeat(40)}" ${'1 '.repeat(40)}}}`, BUDGET],
  ['a million-wide field, over and over', `{{range $k, $v := .Service.Labels}}{{$y := printf "%01000000d" 1}}{{end}}`, BUDGET, labels(100)],
  ['print of a big map, over and over', `{{range .Service.Labels}}{{$y := print $.Service.Labels}}{{end}}`, BUDGET, labels(2000, 'v'.repeat(100))],
  [
    'nested range over a big map',
    '{{range .Service.Labels}}{{range $.Service.Labels}}{{range $.Service.Labels}}{{end}}{{end}}{{end}}',
    'execution stopped after 100000 steps',
    labels(5000),
  ],
  [
    'slice of a big value in a loop',
    `${doubled('"ab"', 20)}{{range .Service.Labels}}{{range $.Service.Labels}}{{$y := slice $x 1}}{{end}}{{end}}`,
    'execution stopped after 100000 steps',
    labels(1000),
  ],
  ['Expand of a doubling template', `{{.Expand ${JSON.stringify(doubled('"ab"', 30))}}}`, BUDGET],
];

function labels(n: number, value = ''): Record<string, string> {
  return Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, value]));
}

for (const [what, template, message, data] of hostile) {
  test(`${what}: a limit error in seconds, memory bounded`, async () => {
    const rss0 = process.memoryUsage().rss;
    const t0 = performance.now();
    const err = await Promise.resolve(driver.render(Buffer.from(template, 'latin1'), request(data))).then(
      () => undefined,
      (e: unknown) => e,
    );
    const ms = performance.now() - t0;
    assert.ok(err instanceof TemplateError, `expected a TemplateError, got ${String(err)}`);
    assert.ok(err.limit, err.message);
    assert.ok(err.message.endsWith(message), err.message);
    assert.ok(ms < 5000, `${what} took ${ms.toFixed(0)} ms`);
    const grew = (process.memoryUsage().rss - rss0) / 2 ** 20;
    assert.ok(grew < 400, `${what} grew RSS by ${grew.toFixed(0)} MiB`);
  });
}

test('a value within the budget still renders: 2^20 bytes built by doubling, 511999 bytes out', async () => {
  const out = await driver.render(Buffer.from(`${doubled('"ab"', 19)}{{slice $x 0 511999}}`), request());
  assert.equal(out.length, 511999);
});

test('the render deadline stops a loop of slow comparisons, and the event loop runs meanwhile', async () => {
  // Two equal 2 MiB strings (built apart, so every eq compares their bytes) in a loop of 16
  // million comparisons, with steps unbounded: only the deadline can stop it, however fast the
  // machine (with the default 100,000 steps, a fast one reached the step limit first).
  const template = `${doubled('"ab"', 20)}{{$y := print $x ""}}{{range .a}}{{range $.a}}{{if eq $x $y}}{{end}}{{end}}{{end}}`;
  const data = { a: Array.from({ length: 4000 }, (_, i) => i) };
  let ticks = 0;
  let worstGap = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    worstGap = Math.max(worstGap, now - last);
    last = now;
    ticks++;
  }, 5);
  try {
    const err = await renderTemplate(template, data, {}, { name: 't', maxOutputBytes: 1000, timeoutMs: 400, maxSteps: Number.MAX_SAFE_INTEGER }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof TemplateError, String(err));
    assert.match(err.message, /execution stopped after 400 ms$/);
    assert.ok(err.limit);
  } finally {
    clearInterval(timer);
  }
  assert.ok(ticks > 5, `the event loop ran ${ticks} times during the render`);
  assert.ok(worstGap < 1000, `the event loop waited ${worstGap.toFixed(0)} ms`);
});
