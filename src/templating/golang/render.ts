/**
 * One render: parse the source as template `name` (with the given functions plus Go's builtins),
 * execute it on the data, and turn every failure into a TemplateError. Works on Go byte strings.
 */
import { BUILTINS, type GoFunc } from './builtins.ts';
import { TemplateError, templateError } from './errors.ts';
import { ExecAbort, execute, type Budget } from './exec.ts';
import { parseTemplates } from './parser.ts';
import type { Value } from './values.ts';

export interface GoRenderOptions {
  /** Template name, as in Go's template.New(name); Swarm uses "expansion". */
  name: string;
  /** Limits shared with nested renders. */
  budget: Budget;
  /** Largest accepted template source, in bytes. */
  maxTemplateBytes: number;
}

/** Renders a Go byte-string template; resolves to the output as a byte string. */
export async function renderGo(source: string, data: Value, funcs: Map<string, GoFunc>, opts: GoRenderOptions): Promise<string> {
  const { name } = opts;
  try {
    if (source.length > opts.maxTemplateBytes) {
      throw new TemplateError(`template: ${name}: template is ${source.length} bytes, over the limit of ${opts.maxTemplateBytes}`, true);
    }
    const trees = parseTemplates(name, source, (fn) => funcs.has(fn) || fn in BUILTINS);
    return await execute({ name, text: source, trees, funcs, budget: opts.budget }, data);
  } catch (e) {
    if (e instanceof TemplateError) throw e;
    if (e instanceof ExecAbort) throw templateError(e.message, e.limit);
    // A stack overflow or a bug: never let it out as anything but a TemplateError, and quote nothing.
    const kind = e instanceof Error ? e.name : typeof e;
    throw new TemplateError(`template: ${name}: internal error (${kind})`, e instanceof RangeError);
  }
}
