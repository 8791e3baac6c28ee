/**
 * The golang templating driver and renderer: Swarm's data and functions, limits, and that no
 * secret value ever reaches an error message. Go-equivalence itself is golang-differential.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import driver, { MAX_OUTPUT_BYTES, TEMPLATE_NAME } from '../../drivers/golang.ts';
import type { RenderRequest } from '../../src/drivers/types.ts';
import { renderTemplate, TemplateError } from '../../src/templating/golang/index.ts';

const SECRET = 's3cr3t-value';

function request(labels: Record<string, string> = { a: '1' }): RenderRequest {
  return {
    secretId: 'id',
    secretName: 'name',
    context: {
      Service: { ID: 'svc', Name: 'web', Labels: labels },
      Node: { ID: 'node', Hostname: 'h', Platform: { OS: 'linux', Architecture: 'amd64' } },
      Task: { ID: 'task', Name: 'web.1.task', Slot: '1' },
    },
    functions: {
      env: (n) => (n === 'HOME' ? '/root' : ''),
      secret: async (t) => {
        if (t === 'db') return Buffer.from(SECRET);
        if (t === 'bin') return Uint8Array.of(0xff, 0x00, 0xfe);
        throw new Error(`secret target ${t} not found`);
      },
      config: async (t) => {
        throw new Error(`config target ${t} not found`);
      },
    },
    options: {},
  };
}

async function render(template: string | Uint8Array, req = request()): Promise<Buffer> {
  return Buffer.from(await driver.render(typeof template === 'string' ? Buffer.from(template) : template, req));
}

async function renderError(template: string, req = request()): Promise<TemplateError> {
  const err = await render(template, req).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof TemplateError, `expected a TemplateError, got ${String(err)}`);
  return err;
}

test("the driver is the templating driver named golang, with swarmkit's template name and size limit", () => {
  assert.equal(driver.kind, 'templating');
  assert.equal(driver.name, 'golang');
  assert.equal(TEMPLATE_NAME, 'expansion');
  assert.equal(MAX_OUTPUT_BYTES, 511999);
});

const renders: [string, string][] = [
  ['{{.Service.ID}} {{.Service.Name}} {{.Service.Labels.a}}', 'svc web 1'],
  ['{{.Node.ID}} {{.Node.Hostname}} {{.Node.Platform.OS}}/{{.Node.Platform.Architecture}}', 'node h linux/amd64'],
  ['{{.Task.ID}} {{.Task.Name}} {{.Task.Slot}}', 'task web.1.task 1'],
  ['{{env "HOME"}}|{{env "UNSET"}}', '/root|'],
  ['pw={{secret "db"}}', `pw=${SECRET}`],
  ['{{join "," "a" "b" .Service.Name}}', 'a,b,web'],
  ['{{.Expand "{{secret \\"db\\"}}"}}', SECRET],
];
for (const [template, want] of renders) {
  test(`renders ${template} as ${JSON.stringify(want)}`, async () => {
    assert.equal((await render(template)).toString(), want);
  });
}

test('secret bytes and template bytes pass through unchanged, even when not UTF-8', async () => {
  const out = await render(Buffer.concat([Buffer.from([0xc3, 0x28]), Buffer.from('{{secret "bin"}}')]));
  assert.deepEqual([...out], [0xc3, 0x28, 0xff, 0x00, 0xfe]);
});

test('a missing label is an error naming the line and column, as missingkey=error', async () => {
  const err = await renderError('ok\n  {{.Service.Labels.absent}}');
  assert.equal(err.message, 'template: expansion:2:12: executing "expansion" at <.Service.Labels.absent>: map has no entry for key "absent"');
});

test('an unknown function is a parse error naming the line', async () => {
  assert.equal((await renderError('a\n{{nope}}')).message, 'template: expansion:2: function "nope" not defined');
});

test('a config reference fails as Docker does: secretd holds no configs', async () => {
  assert.match((await renderError('{{config "c"}}')).message, /error calling config: config target c not found$/);
});

const leaks = [
  '{{range secret "db"}}{{end}}',
  '{{eq (secret "db") 1}}',
  '{{lt (secret "db") 1}}',
  '{{index (secret "db") 99}}',
  '{{slice (secret "db") 99}}',
  '{{env (secret "db")}}',
  '{{secret (secret "db")}}',
  '{{(secret "db").Field}}',
  '{{template (secret "db")}}',
  '{{$x := secret "db"}}{{$x.y}}',
  '{{call (secret "db")}}',
  '{{len (secret "db") | printf "%d" | secret}}',
];
for (const template of leaks) {
  test(`the error for ${template} does not contain the secret value`, async () => {
    const err = await render(template).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    if (err) {
      assert.ok(err instanceof TemplateError);
      assert.ok(!err.message.includes(SECRET), err.message);
    }
  });
}

test('output over 511999 bytes is refused, output of exactly 511999 bytes is not', async () => {
  const big = { v: 'x'.repeat(MAX_OUTPUT_BYTES) };
  assert.equal((await render('{{.Service.Labels.v}}', request(big))).length, MAX_OUTPUT_BYTES);
  const err = await renderError('{{.Service.Labels.v}}!', request(big));
  assert.match(err.message, /^template: expansion:1:\d+: executing "expansion" at <"!">: rendered output exceeds 511999 bytes$/);
  assert.ok(err.limit);
});

test('runaway iteration stops with an error instead of running for ages', async () => {
  const labels = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`k${i}`, '']));
  const t0 = Date.now();
  const err = await renderError('{{range .Service.Labels}}{{range $.Service.Labels}}{{range $.Service.Labels}}{{end}}{{end}}{{end}}', request(labels));
  assert.match(err.message, /execution stopped after 100000 steps$/);
  assert.ok(Date.now() - t0 < 5000);
});

test('deep nesting and recursion end in errors, not stack overflows', async () => {
  assert.match((await renderError('{{' + '('.repeat(5000) + '1' + ')'.repeat(5000) + '}}')).message, /^template: expansion:1: max expression depth exceeded$/);
  assert.match((await renderError('{{if 1}}'.repeat(3000))).message, /max expression depth exceeded$/);
  assert.match((await renderError('{{define "r"}}{{template "r" .}}{{end}}{{template "r" .}}')).message, /exceeded maximum template depth \(1000\)$/);
  const selfExpanding = request({ t: '{{.Expand .Service.Labels.t}}' });
  assert.match((await renderError('{{.Expand .Service.Labels.t}}', selfExpanding)).message, /\.Expand nested more than 10 deep/);
});

test('renderTemplate renders plain JSON-like data as Go maps, with caller functions', async () => {
  const out = await renderTemplate(
    '{{.a}} {{index .list 1}} {{range $k, $v := .m}}{{$k}}={{$v}} {{end}}{{up "x"}}',
    { a: 1.5, list: ['p', 'q'], m: { z: true, y: 2 } },
    {
      up: { params: 1, call: (s) => s.toUpperCase() },
    },
    { name: 't', maxOutputBytes: 1000 },
  );
  assert.equal(Buffer.from(out).toString(), '1.5 q y=2 z=true X');
});
