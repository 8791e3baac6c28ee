/**
 * The `golang` templating driver: renders a secret's bytes as a Go text/template the way
 * swarmkit does (template/context.go, template/template.go): template name "expansion",
 * missingkey=error, data = the task's PayloadContext, functions join, env, secret, config.
 */
import { MAX_VALUE_BYTES } from '../src/drivers/kit.ts';
import type { RenderRequest, TemplatingDriver } from '../src/drivers/types.ts';
import {
  DEFAULT_MAX_TEMPLATE_BYTES,
  fromGo,
  goFuncs,
  newBudget,
  payloadContext,
  renderGo,
  bytesToGo,
  type Budget,
  type TemplateFunction,
} from '../src/templating/golang/index.ts';

export const NAME = 'golang';
/** swarmkit's template name (template.New("expansion")), which Go's messages quote. */
export const TEMPLATE_NAME = 'expansion';
/** swarmkit's largest secret (MaxSecretSize - 1), applied to the rendered output. */
export const MAX_OUTPUT_BYTES = MAX_VALUE_BYTES;

/** swarmkit's `join`: the first argument is the separator for the rest. */
const join: TemplateFunction = {
  params: 0,
  variadic: true,
  call: (...s) => {
    // Go slices s[1:] and panics on no arguments; the template reports the recovered panic.
    if (s.length === 0) throw new Error('runtime error: slice bounds out of range [1:0]');
    return s.slice(1).join(s[0]);
  },
  // Known before joining: `join $big $big $big …` is refused without being built.
  size: (...s) => (s.length < 2 ? 0 : s.slice(1).reduce((n, x) => n + x.length, 0) + s[0]!.length * (s.length - 2)),
};

function payloadFunctions(request: RenderRequest): Record<string, TemplateFunction> {
  const f = request.functions;
  return {
    join,
    env: { params: 1, call: (name) => f.env(fromGo(name!)) },
    secret: { params: 1, sensitive: true, call: async (target) => f.secret(fromGo(target!)) },
    config: { params: 1, sensitive: true, call: async (target) => f.config(fromGo(target!)) },
  };
}

async function render(template: Uint8Array, request: RenderRequest): Promise<Uint8Array> {
  const budget: Budget = newBudget({ name: TEMPLATE_NAME, maxOutputBytes: MAX_OUTPUT_BYTES });
  const payload = goFuncs(payloadFunctions(request));
  const plain = goFuncs({ join });
  const opts = { name: TEMPLATE_NAME, budget, maxTemplateBytes: DEFAULT_MAX_TEMPLATE_BYTES };
  // A nested .Expand writes to its own buffer in Go; its output counts only where printed.
  const nested = (): Budget => ({ ...budget, outBytes: 0 });
  let depth = 0;
  const expandWith = (funcs: typeof payload) => async (source: string, data: Parameters<typeof renderGo>[1]) => {
    if (depth >= MAX_EXPAND_DEPTH) throw new Error(`.Expand nested more than ${MAX_EXPAND_DEPTH} deep`);
    depth++;
    try {
      const inner = nested();
      const out = await renderGo(source, data, funcs, { ...opts, budget: inner });
      // Steps, bytes built and the deadline are the whole render's; only output is per buffer.
      budget.steps = inner.steps;
      budget.allocBytes = inner.allocBytes;
      return out;
    } finally {
      depth--;
    }
  };
  const data = payloadContext(request.context, { payload: expandWith(payload), plain: expandWith(plain) });
  const out = await renderGo(bytesToGo(template), data, payload, opts);
  return Buffer.from(out, 'latin1');
}

/** `.Expand` lets a template render a template; Go has no bound (it would exhaust its stack). */
const MAX_EXPAND_DEPTH = 10;

const driver: TemplatingDriver = { kind: 'templating', name: NAME, render };
export default driver;
