/**
 * Property test: random bytes and random mutations of valid templates never throw anything but
 * a TemplateError, never hang, and finish quickly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import driver from '../../drivers/golang.ts';
import type { RenderRequest } from '../../src/drivers/types.ts';
import { TemplateError } from '../../src/templating/golang/index.ts';
import { CORPUS } from './golang-corpus.ts';

let seed = 20240601;
const rnd = () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x7fffffff;
};
const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
const PIECES = [
  '{{',
  '}}',
  '{{-',
  '-}}',
  ' ',
  '.',
  '$',
  '|',
  '(',
  ')',
  '"',
  '`',
  "'",
  ',',
  ':=',
  '=',
  'if',
  'else',
  'end',
  'range',
  'with',
  'define',
  'block',
  'template',
  'break',
  'nil',
  '1',
  '-',
  '\n',
  '.Service',
  '.Labels',
  '.a',
  'printf',
  'len',
  'index',
  'secret',
  '/*',
  '*/',
  'é',
  '\\',
  '\x00',
  '\xff',
];

function mutate(s: string): string {
  for (let k = 1 + Math.floor(rnd() * 4); k > 0; k--) {
    const i = Math.floor(rnd() * (s.length + 1));
    const op = rnd();
    if (op < 0.4) s = s.slice(0, i) + pick(PIECES) + s.slice(i);
    else if (op < 0.7) s = s.slice(0, i) + s.slice(i + 1 + Math.floor(rnd() * 3));
    else {
      const j = Math.floor(rnd() * s.length);
      s = s.slice(0, i) + s.slice(j, j + 6) + s.slice(i);
    }
  }
  return s;
}

const request: RenderRequest = {
  secretId: 'id',
  secretName: 'n',
  context: {
    Service: { ID: 's', Name: 'web', Labels: { a: '1', t: '{{.Expand .Service.Labels.t}}' } },
    Node: { ID: 'n', Hostname: '', Platform: { OS: '', Architecture: '' } },
    Task: { ID: 't', Name: 'web.1.t', Slot: '1' },
  },
  functions: {
    env: () => '',
    secret: async (t) => {
      if (t === 'db') return Buffer.from('pw');
      throw new Error(`secret target ${t} not found`);
    },
    config: async (t) => {
      throw new Error(`config target ${t} not found`);
    },
  },
  options: {},
};

async function check(input: Uint8Array): Promise<void> {
  const t0 = performance.now();
  try {
    await driver.render(input, request);
  } catch (e) {
    assert.ok(e instanceof TemplateError, `non-TemplateError for ${JSON.stringify(Buffer.from(input).toString('latin1'))}: ${String(e)}`);
    assert.match(e.message, /^template: /);
  }
  assert.ok(performance.now() - t0 < 2000, `slow render for ${JSON.stringify(Buffer.from(input).toString('latin1'))}`);
}

test('random byte strings only ever fail with a TemplateError, quickly', async () => {
  for (let n = 0; n < 1500; n++) {
    const len = Math.floor(rnd() * 64);
    const bytes = Uint8Array.from({ length: len }, () =>
      rnd() < 0.5 ? pick([0x7b, 0x7d, 0x2e, 0x24, 0x22, 0x20, 0x28, 0x29, 0x7c, 0x2d]) : Math.floor(rnd() * 256),
    );
    await check(bytes);
  }
});

test('mutations of valid templates only ever fail with a TemplateError, quickly', async () => {
  for (let n = 0; n < 3000; n++) await check(Buffer.from(mutate(pick(CORPUS).template), 'latin1'));
});
