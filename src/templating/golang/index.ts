/**
 * Public entry of the Go text/template renderer used for Swarm's `golang` secret templating:
 * `renderTemplate` (any data) and the pieces the driver assembles (Swarm data, functions).
 */
import { bytesToGo, toGo } from './bytes.ts';
import { STRING, fromJS, isGoValue, type GoValue, type Value } from './values.ts';
import type { GoFunc } from './builtins.ts';
import { renderGo } from './render.ts';
import { fits, type Budget } from './limits.ts';

export { TemplateError } from './errors.ts';
export { payloadContext, type SwarmContext, type Expanders } from './swarm-context.ts';
export { fromGo, toGo, bytesToGo } from './bytes.ts';
export type { GoValue, Budget };

/**
 * A template function taking and returning Go strings. Arguments arrive as Go byte strings
 * (binary strings, one char per byte: use `fromGo` for text); return a string the same way, or
 * bytes. Throw an Error to fail the render as Go does ("error calling NAME: MESSAGE").
 */
export interface TemplateFunction {
  /** Number of string parameters (before the variadic ones). */
  params: number;
  /** Accepts any number of further strings (Go `...string`). */
  variadic?: boolean;
  /** Its results are secret: values derived from them are redacted from error messages. */
  sensitive?: boolean;
  /**
   * The length of the result the call would build, worked out before it runs: a call whose
   * result could not fit in the render's allocation budget is refused without running.
   */
  size?(...args: string[]): number;
  call(...args: string[]): string | Uint8Array | Promise<string | Uint8Array>;
}

export interface RenderOptions {
  /** Template name used in messages; Swarm uses "expansion". */
  name: string;
  /** Largest output accepted, in bytes (the driver sets swarmkit's 511999). */
  maxOutputBytes: number;
  /** Evaluation steps allowed (nodes walked, commands run, iterations); default 100000. */
  maxSteps?: number;
  /** Largest template source accepted, in bytes; default 1 MiB. */
  maxTemplateBytes?: number;
  /** Bytes that builtins, functions, methods and output may build in all; default 8 MiB. */
  maxAllocBytes?: number;
  /** Wall-clock time a render may take, in ms, checked at every step; default 5000. */
  timeoutMs?: number;
  /** A budget to share with an enclosing render (for nested `.Expand`). */
  budget?: Budget;
}

export const DEFAULT_MAX_STEPS = 100_000;
export const DEFAULT_MAX_TEMPLATE_BYTES = 1 << 20;
export const DEFAULT_MAX_ALLOC_BYTES = 8 << 20;
export const DEFAULT_TIMEOUT_MS = 5000;

/** Wraps string functions as Go `func(string...) (string, error)` values. */
export function goFuncs(funcs: Record<string, TemplateFunction>): Map<string, GoFunc> {
  const out = new Map<string, GoFunc>();
  for (const [name, f] of Object.entries(funcs)) {
    out.set(name, {
      params: Array(f.params).fill(STRING),
      variadic: f.variadic ? STRING : undefined,
      fresh: true,
      call: async (args, room) => {
        const strings = args.map((a) => (a?.v as string) ?? '');
        if (f.size) fits(f.size(...strings), room);
        const r = await f.call(...strings);
        const secret = f.sensitive || args.some((a) => a?.secret);
        return { type: STRING, v: typeof r === 'string' ? r : bytesToGo(r), ...(secret ? { secret } : {}) };
      },
    });
  }
  return out;
}

export function newBudget(opts: RenderOptions): Budget {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return (
    opts.budget ?? {
      steps: 0,
      maxSteps: opts.maxSteps ?? DEFAULT_MAX_STEPS,
      outBytes: 0,
      maxOutputBytes: opts.maxOutputBytes,
      allocBytes: 0,
      maxAllocBytes: opts.maxAllocBytes ?? DEFAULT_MAX_ALLOC_BYTES,
      deadline: performance.now() + timeoutMs,
      timeoutMs,
    }
  );
}

/**
 * Renders Go text/template `source` on `data` (a typed GoValue, or plain JSON-like data, whose
 * objects act as map[string]interface {}). Resolves to the output bytes; rejects only with a
 * TemplateError whose message is Go's.
 */
export async function renderTemplate(
  source: string | Uint8Array,
  data: unknown,
  funcs: Record<string, TemplateFunction>,
  opts: RenderOptions,
): Promise<Uint8Array> {
  const src = typeof source === 'string' ? toGo(source) : bytesToGo(source);
  const value: Value = isGoValue(data) ? (data as GoValue) : fromJS(data, toGo);
  const out = await renderGo(src, value, goFuncs(funcs), {
    name: opts.name,
    budget: newBudget(opts),
    maxTemplateBytes: opts.maxTemplateBytes ?? DEFAULT_MAX_TEMPLATE_BYTES,
  });
  return Buffer.from(out, 'latin1');
}

export { renderGo };
