/**
 * Evaluation of parsed templates with Go's text/template semantics (missingkey=error): walking
 * the tree, pipelines, variables, field chains, calls with Go's argument checks, and Go's
 * execution-error wording. Async because template functions (Swarm's `secret`) may be.
 * Output, steps, template recursion, bytes allocated and time are bounded (src/templating/golang/
 * limits.ts), and a long render yields to the event loop every few hundred steps.
 */
import type { Arg, BranchNode, Command, ListNode, Node, Pipe, VariableNode } from './ast.ts';
import { nodeString } from './ast.ts';
import { quote, toGo } from './bytes.ts';
import { TemplateError } from './errors.ts';
import { BUILTINS, type GoFunc } from './builtins.ts';
import { formatValue } from './fmt.ts';
import { OverBudget, type Budget } from './limits.ts';
import type { Tree } from './parser.ts';
import {
  BOOL,
  COMPLEX128,
  FLOAT64,
  INT,
  REFLECT_VALUE,
  STRING,
  UINT8,
  canBeNil,
  findField,
  indirect,
  isTrue,
  isUpperFirst,
  sortedEntries,
  typeString,
  zero,
  type GoType,
  type GoValue,
  type StructType,
  type Value,
} from './values.ts';

/** Go's limit is 100000; ours keeps the JS stack safe. */
export const MAX_TEMPLATE_DEPTH = 1000;

export type { Budget };

/** Steps between two turns of the event loop: other clients are served while a render runs. */
const YIELD_EVERY = 256;
const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

export interface RunContext {
  name: string;
  text: string;
  trees: Map<string, Tree>;
  funcs: Map<string, GoFunc>;
  budget: Budget;
}

/** An execution failure, carrying Go's message as a byte string; `limit` when a bound was hit. */
export class ExecAbort extends Error {
  readonly limit: boolean;
  constructor(message: string, limit: boolean = false) {
    super(message);
    this.limit = limit;
  }
}
class BreakSignal {}
class ContinueSignal {}

const MISSING = Symbol('missing');
type Final = Value | typeof MISSING;

interface Var {
  name: string;
  value: Value;
}

class State {
  node: Node | null = null;
  private readonly run: RunContext;
  private readonly out: string[];
  readonly tmplName: string;
  private vars: Var[];
  private readonly depth: number;
  constructor(run: RunContext, out: string[], tmplName: string, vars: Var[], depth: number) {
    this.run = run;
    this.out = out;
    this.tmplName = tmplName;
    this.vars = vars;
    this.depth = depth;
  }

  // ---- errors, variables, output
  errorf(msg: string, limit = false): never {
    const name = quote(this.tmplName);
    if (this.node === null) throw new ExecAbort(`template: ${name.slice(1, -1)}: ${msg}`, limit);
    const pos = this.node.pos;
    const before = this.run.text.slice(0, pos);
    const nl = before.lastIndexOf('\n');
    const col = nl < 0 ? pos : pos - (nl + 1);
    let line = 1;
    for (let i = before.indexOf('\n'); i >= 0; i = before.indexOf('\n', i + 1)) line++;
    throw new ExecAbort(`template: ${this.run.name}:${line}:${col}: executing ${name} at <${nodeString(this.node)}>: ${msg}`, limit);
  }
  private at(n: Node): void {
    this.node = n;
  }
  private step(): void {
    const b = this.run.budget;
    if (++b.steps > b.maxSteps) this.errorf(`execution stopped after ${b.maxSteps} steps`, true);
    if (performance.now() > b.deadline) this.errorf(`execution stopped after ${b.timeoutMs} ms`, true);
  }
  /** A step that now and then lets the event loop run (awaiting a settled promise would not). */
  private async tick(): Promise<void> {
    this.step();
    if (this.run.budget.steps % YIELD_EVERY === 0) {
      await yieldToLoop();
      this.step(); // the deadline may have passed meanwhile
    }
  }
  /** Counts `bytes` newly built against the render's allocation budget. */
  private charge(bytes: number): void {
    const b = this.run.budget;
    b.allocBytes += bytes;
    if (b.allocBytes > b.maxAllocBytes) this.overBudget();
  }
  private overBudget(): never {
    this.errorf(`execution stopped: values built exceed ${this.run.budget.maxAllocBytes} bytes`, true);
  }
  /** Bytes a new value may still take: what both the allocation and the output budget leave. */
  private room(forOutput = false): number {
    const b = this.run.budget;
    const alloc = b.maxAllocBytes - b.allocBytes;
    return forOutput ? Math.min(alloc, b.maxOutputBytes - b.outBytes) : alloc;
  }
  private write(s: string): void {
    const b = this.run.budget;
    b.outBytes += s.length;
    if (b.outBytes > b.maxOutputBytes) this.errorf(`rendered output exceeds ${b.maxOutputBytes} bytes`, true);
    this.charge(s.length);
    this.out.push(s);
  }
  private varValue(name: string): Value {
    for (let i = this.vars.length - 1; i >= 0; i--) if (this.vars[i]!.name === name) return this.vars[i]!.value;
    this.errorf(`undefined variable: ${name}`);
  }
  private setVar(name: string, value: Value): void {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      if (this.vars[i]!.name === name) {
        this.vars[i]!.value = value;
        return;
      }
    }
    this.errorf(`undefined variable: ${name}`);
  }

  // ---- statements
  async walk(dot: Value, node: Node): Promise<void> {
    this.at(node);
    await this.tick();
    this.at(node);
    switch (node.type) {
      case 'action': {
        const val = await this.evalPipeline(dot, node.pipe);
        if (node.pipe.decl.length === 0) this.printValue(node, val);
        return;
      }
      case 'break':
        throw new BreakSignal();
      case 'continue':
        throw new ContinueSignal();
      case 'if':
      case 'with':
        return this.walkIfOrWith(node.type, dot, node.pipe, node.list, node.elseList);
      case 'list':
        for (const n of node.nodes) await this.walk(dot, n);
        return;
      case 'range':
        return this.walkRange(dot, node);
      case 'template':
        return this.walkTemplate(dot, node);
      case 'text':
        this.write(node.text);
        return;
      default:
        this.errorf(`unknown node: ${nodeString(node)}`);
    }
  }

  private async walkIfOrWith(kind: 'if' | 'with', dot: Value, pipe: Pipe, list: ListNode, elseList: ListNode | null): Promise<void> {
    const mark = this.vars.length;
    try {
      const val = await this.evalPipeline(dot, pipe);
      const [truth, ok] = isTrue(val);
      if (!ok) this.errorf(`if/with can't use a value of type ${typeString(val!.type)}`);
      if (truth) await this.walk(kind === 'with' ? val : dot, list);
      else if (elseList) await this.walk(dot, elseList);
    } finally {
      this.vars.length = mark;
    }
  }

  private async walkRange(dot: Value, r: BranchNode): Promise<void> {
    this.at(r);
    const outer = this.vars.length;
    try {
      const [val] = indirect(await this.evalPipeline(dot, r.pipe));
      const mark = this.vars.length;
      const one = async (index: Value, elem: Value) => {
        await this.tick();
        if (r.pipe.decl.length > 0) this.vars[this.vars.length - 1]!.value = elem;
        if (r.pipe.decl.length > 1) this.vars[this.vars.length - 2]!.value = index;
        try {
          await this.walk(elem, r.list);
        } catch (e) {
          if (!(e instanceof ContinueSignal)) throw e;
        } finally {
          this.vars.length = mark;
        }
      };
      let ran = false;
      if (val === undefined) {
        // a nil value ranges like an empty map
      } else if (val.type.kind === 'slice') {
        const items = (val.v as Value[] | null) ?? [];
        for (let i = 0; i < items.length; i++) {
          ran = true;
          await one({ type: INT, v: BigInt(i) }, items[i]);
        }
      } else if (val.type.kind === 'map') {
        const keyType = (val.type as { key: GoType }).key;
        for (const [k, v] of sortedEntries((val.v as Map<string, Value> | null) ?? new Map())) {
          ran = true;
          await one({ type: keyType, v: k }, v);
        }
      } else {
        // Go prints the value here; we name its type so no data (a secret) reaches the message.
        this.errorf(`range can't iterate over a value of type ${typeString(val.type)}`);
      }
      if (!ran && r.elseList) await this.walk(dot, r.elseList);
    } catch (e) {
      if (!(e instanceof BreakSignal)) throw e;
    } finally {
      this.vars.length = outer;
    }
  }

  private async walkTemplate(dot: Value, t: Extract<Node, { type: 'template' }>): Promise<void> {
    this.at(t);
    const tree = this.run.trees.get(t.name);
    if (!tree?.root) this.errorf(`template ${quote(t.name)} not defined`);
    if (this.depth >= MAX_TEMPLATE_DEPTH) this.errorf(`exceeded maximum template depth (${MAX_TEMPLATE_DEPTH})`, true);
    const newDot = await this.evalPipeline(dot, t.pipe);
    const inner = new State(this.run, this.out, t.name, [{ name: '$', value: newDot }], this.depth + 1);
    await inner.walk(newDot, tree.root);
  }

  private printValue(n: Node, v: Value): void {
    this.at(n);
    const [iv] = v?.type.kind === 'ptr' ? indirect(v) : [v];
    if (iv === undefined) {
      this.write('<no value>');
      return;
    }
    const room = this.room(true);
    let text: string;
    try {
      text = formatValue(iv, 'v', { plus: false, minus: false, sharp: false, space: false, zero: false }, iv.type.kind === 'ptr' ? 1 : 0, room);
    } catch (e) {
      if (!(e instanceof OverBudget)) throw e;
      // Whichever bound is the tighter one is the one to name.
      const b = this.run.budget;
      if (b.maxOutputBytes - b.outBytes <= b.maxAllocBytes - b.allocBytes) this.errorf(`rendered output exceeds ${b.maxOutputBytes} bytes`, true);
      this.overBudget();
    }
    this.write(text);
  }

  // ---- expressions
  async evalPipeline(dot: Value, pipe: Pipe | null): Promise<Value> {
    if (pipe === null) return undefined;
    this.at(pipe);
    let value: Final = MISSING;
    for (const cmd of pipe.cmds) {
      value = await this.evalCommand(dot, cmd, value);
      if (value?.type.kind === 'iface') value = undefined; // a nil interface {} becomes no value
    }
    const v = value === MISSING ? undefined : value;
    for (const d of pipe.decl) {
      if (pipe.isAssign) this.setVar(d.ident[0]!, v);
      else this.vars.push({ name: d.ident[0]!, value: v });
    }
    return v;
  }

  private notAFunction(args: Arg[] | null, final: Final): void {
    if ((args && args.length > 1) || final !== MISSING) this.errorf(`can't give argument to non-function ${nodeString(args![0]!)}`);
  }

  private async evalCommand(dot: Value, cmd: Command, final: Final): Promise<Value> {
    await this.tick();
    const first = cmd.args[0]!;
    switch (first.type) {
      case 'field':
        return this.evalFieldNode(dot, first, cmd.args, final);
      case 'chain':
        return this.evalChainNode(dot, first, cmd.args, final);
      case 'identifier':
        return this.evalFunction(dot, first, cmd, cmd.args, final);
      case 'pipe':
        this.notAFunction(cmd.args, final);
        return this.evalPipeline(dot, first);
      case 'variable':
        return this.evalVariableNode(dot, first, cmd.args, final);
    }
    this.at(first);
    this.notAFunction(cmd.args, final);
    switch (first.type) {
      case 'bool':
        return { type: BOOL, v: first.value };
      case 'dot':
        return dot;
      case 'nil':
        this.errorf('nil is not a command');
      case 'number':
        return this.idealConstant(first);
      case 'string':
        return { type: STRING, v: first.text };
    }
  }

  private idealConstant(n: Extract<Arg, { type: 'number' }>): Value {
    this.at(n);
    const c = n.num;
    const isHexInt = /^0[xX]/.test(c.text) && !/[pP]/.test(c.text);
    if (c.isComplex) return { type: COMPLEX128, v: c.complex };
    if (c.isFloat && !isHexInt && !c.text.startsWith("'") && /[.eEpP]/.test(c.text)) return { type: FLOAT64, v: c.float };
    if (c.isInt) return { type: INT, v: c.int };
    if (c.isUint) this.errorf(`${c.text} overflows int`);
    return undefined;
  }

  private evalFieldNode(dot: Value, f: Extract<Arg, { type: 'field' }>, args: Arg[] | null, final: Final): Promise<Value> {
    this.at(f);
    return this.evalFieldChain(dot, dot, f, f.ident, args, final);
  }

  private async evalChainNode(dot: Value, c: Extract<Arg, { type: 'chain' }>, args: Arg[] | null, final: Final): Promise<Value> {
    this.at(c);
    if (c.node.type === 'nil') this.errorf(`indirection through explicit nil in ${nodeString(c)}`);
    const recv = await this.evalArg(dot, null, c.node);
    return this.evalFieldChain(dot, recv, c, c.field, args, final);
  }

  private async evalVariableNode(dot: Value, v: VariableNode, args: Arg[] | null, final: Final): Promise<Value> {
    this.at(v);
    const value = this.varValue(v.ident[0]!);
    if (v.ident.length === 1) {
      this.notAFunction(args, final);
      return value;
    }
    return this.evalFieldChain(dot, value, v, v.ident.slice(1), args, final);
  }

  private async evalFieldChain(dot: Value, recv: Value, node: Node, ident: string[], args: Arg[] | null, final: Final): Promise<Value> {
    for (let i = 0; i < ident.length - 1; i++) recv = await this.evalField(dot, ident[i]!, node, null, MISSING, recv);
    return this.evalField(dot, ident[ident.length - 1]!, node, args, final, recv);
  }

  private async evalField(dot: Value, name: string, node: Node, args: Arg[] | null, final: Final, receiver: Value): Promise<Value> {
    if (receiver === undefined) this.errorf(`nil data; no entry for key ${quote(name)}`);
    const typ = receiver.type;
    const [recv, isNil] = indirect(receiver);
    const r = recv as GoValue;
    if (!isNil && r.type.kind === 'struct') {
      const method = (r.type as StructType).methods?.[name];
      if (method) {
        const fn: GoFunc = {
          params: Array(method.params).fill(STRING),
          fresh: true,
          call: async (a) => ({
            type: STRING,
            v: await method.call(
              r,
              a.map((x) => x!.v as string),
            ),
          }),
        };
        return this.evalCall(dot, fn, false, node, name, args, final);
      }
    }
    const hasArgs = (args !== null && args.length > 1) || final !== MISSING;
    if (r.type.kind === 'struct' && !isNil) {
      const f = findField(r.type, name);
      if (f) {
        if (!isUpperFirst(name)) this.errorf(`${name} is an unexported field of struct type ${typeString(typ)}`);
        if (hasArgs) this.errorf(`${name} has arguments but cannot be invoked as function`);
        let v: Value = r;
        for (const p of f.path) v = (v!.v as Record<string, Value>)[p];
        return v;
      }
    } else if (r.type.kind === 'map') {
      if (hasArgs) this.errorf(`${name} is not a method but has arguments`);
      const m = r.v as Map<string, Value> | null;
      if (!m?.has(name)) this.errorf(`map has no entry for key ${quote(name)}`);
      return m.get(name);
    } else if (r.type.kind === 'ptr' && isNil) {
      const elem = (r.type as { elem: GoType }).elem;
      if (elem.kind !== 'struct' || findField(elem, name)) this.errorf(`nil pointer evaluating ${typeString(typ)}.${name}`);
    }
    this.errorf(`can't evaluate field ${name} in type ${typeString(typ)}`);
  }

  private evalFunction(dot: Value, node: Extract<Arg, { type: 'identifier' }>, cmd: Node, args: Arg[] | null, final: Final): Promise<Value> {
    this.at(node);
    const name = node.ident;
    const user = this.run.funcs.get(name);
    const fn = user ?? BUILTINS[name];
    if (!fn) this.errorf(`${quote(name)} is not a defined function`);
    return this.evalCall(dot, fn, !user, cmd, name, args, final);
  }

  private async evalCall(dot: Value, fn: GoFunc, isBuiltin: boolean, node: Node, name: string, allArgs: Arg[] | null, final: Final): Promise<Value> {
    const args = allArgs ? allArgs.slice(1) : [];
    const numIn = args.length + (final !== MISSING ? 1 : 0);
    const numFixed = fn.variadic ? fn.params.length : args.length;
    if (fn.variadic) {
      if (numIn < numFixed) this.errorf(`wrong number of args for ${name}: want at least ${fn.params.length} got ${args.length}`);
    } else if (numIn !== fn.params.length) {
      this.errorf(`wrong number of args for ${name}: want ${fn.params.length} got ${numIn}`);
    }
    if (isBuiltin && (name === 'and' || name === 'or')) {
      let v: Value;
      for (const a of args) {
        v = await this.evalArg(dot, REFLECT_VALUE, a);
        if (isTrue(v)[0] === (name === 'or')) return v;
      }
      if (final !== MISSING) v = final;
      return v!;
    }
    const argv: Value[] = [];
    let i = 0;
    for (; i < numFixed && i < args.length; i++) argv[i] = await this.evalArg(dot, fn.params[i]!, args[i]!);
    if (fn.variadic) for (; i < args.length; i++) argv[i] = await this.evalArg(dot, fn.variadic, args[i]!);
    if (final !== MISSING) {
      let t: GoType = fn.variadic ?? fn.params[fn.params.length - 1]!;
      if (fn.variadic && numIn - 1 < numFixed) t = fn.params[numIn - 1]!;
      argv[i] = this.validateType(final, t);
    }
    let result: Value;
    try {
      result = await fn.call(argv, this.room());
    } catch (e) {
      if (e instanceof OverBudget) {
        this.at(node);
        this.overBudget();
      }
      if ((e instanceof ExecAbort || e instanceof TemplateError) && e.limit) throw e;
      if (e instanceof BreakSignal || e instanceof ContinueSignal) throw e;
      this.at(node);
      // TemplateError messages (a nested .Expand) and JS messages are text; ours are bytes.
      let msg = toGo(e instanceof Error ? e.message : String(e));
      // A function may quote its argument (Swarm: "secret target X not found"): never a secret.
      for (const a of argv) if (a?.secret && typeof a.v === 'string' && a.v !== '') msg = msg.split(a.v).join('<redacted>');
      this.errorf(`error calling ${name}: ${msg}`);
    }
    if (fn.fresh && result !== undefined) {
      this.at(node);
      this.charge(typeof result.v === 'string' ? result.v.length : 16);
    }
    return result;
  }

  private validateType(value: Value, typ: GoType | null): Value {
    if (typ === null) return value;
    if (value === undefined) {
      if (canBeNil(typ)) return typ.kind === 'iface' || typ.kind === 'reflect.Value' ? undefined : zero(typ);
      this.errorf(`invalid value; expected ${typeString(typ)}`);
    }
    if (typ.kind === 'reflect.Value' || typ.kind === 'iface') return value;
    if (typeString(value.type) !== typeString(typ)) {
      if (value.type.kind === 'ptr' && typeString(value.type.elem) === typeString(typ)) {
        if (value.v === null) this.errorf(`dereference of nil pointer of type ${typeString(typ)}`);
        return value.v as GoValue;
      }
      this.errorf(`wrong type for value; expected ${typeString(typ)}; got ${typeString(value.type)}`);
    }
    return value;
  }

  private async evalArg(dot: Value, typ: GoType | null, n: Arg): Promise<Value> {
    this.at(n);
    switch (n.type) {
      case 'dot':
        return this.validateType(dot, typ);
      case 'nil':
        if (typ && canBeNil(typ)) return typ.kind === 'iface' || typ.kind === 'reflect.Value' ? undefined : zero(typ);
        this.errorf(`cannot assign nil to ${typ ? typeString(typ) : '<nil>'}`);
      case 'field':
        return this.validateType(await this.evalFieldNode(dot, n, [n], MISSING), typ);
      case 'variable':
        return this.validateType(await this.evalVariableNode(dot, n, null, MISSING), typ);
      case 'pipe':
        return this.validateType(await this.evalPipeline(dot, n), typ);
      case 'identifier':
        return this.validateType(await this.evalFunction(dot, n, n, null, MISSING), typ);
      case 'chain':
        return this.validateType(await this.evalChainNode(dot, n, null, MISSING), typ);
    }
    switch (typ?.kind) {
      case 'bool':
        if (n.type === 'bool') return { type: typ, v: n.value };
        this.errorf(`expected bool; found ${nodeString(n)}`);
      case 'int':
        if (n.type === 'number' && n.num.isInt) return { type: typ, v: n.num.int };
        this.errorf(`expected integer; found ${nodeString(n)}`);
      case 'uint8':
        if (n.type === 'number' && n.num.isUint) return { type: UINT8, v: n.num.uint };
        this.errorf(`expected unsigned integer; found ${nodeString(n)}`);
      case 'float64':
        if (n.type === 'number' && n.num.isFloat) return { type: typ, v: n.num.float };
        this.errorf(`expected float; found ${nodeString(n)}`);
      case 'iface':
      case 'reflect.Value':
        return this.evalEmptyInterface(dot, n);
      case 'string':
        if (n.type === 'string') return { type: typ, v: n.text };
        this.errorf(`expected string; found ${nodeString(n)}`);
    }
    this.errorf(`can't handle ${nodeString(n)} for arg of type ${typ ? typeString(typ) : '<nil>'}`);
  }

  private evalEmptyInterface(_dot: Value, n: Arg): Value {
    this.at(n);
    switch (n.type) {
      case 'bool':
        return { type: BOOL, v: n.value };
      case 'number':
        return this.idealConstant(n);
      case 'string':
        return { type: STRING, v: n.text };
    }
    this.errorf(`can't handle assignment of ${nodeString(n)} to empty interface argument`);
  }
}

/** Executes template `name` of a parsed set with `data` as dot; returns the output bytes (binary string). */
export async function execute(run: RunContext, data: Value): Promise<string> {
  const out: string[] = [];
  const state: State = new State(run, out, run.name, [{ name: '$', value: data }], 0);
  const tree = run.trees.get(run.name);
  if (!tree?.root) state.errorf(`${quote(run.name)} is an incomplete or empty template`);
  await state.walk(data, tree.root);
  return out.join('');
}
