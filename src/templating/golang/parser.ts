/**
 * The parser of Go's text/template: tokens to a tree per template name (the main one plus each
 * {{define}}/{{block}}), with Go's error wording and line numbers. Nesting is capped so hostile
 * input cannot exhaust the stack.
 */
import { Lexer, T, itemString, type Item } from './lexer.ts';
import type { Arg, Command, ListNode, Node, Pipe, VariableNode } from './ast.ts';
import { parseNumber } from './number.ts';
import { unquote } from './unquote.ts';
import { templateError } from './errors.ts';
import { quote } from './bytes.ts';

/** Deepest nesting of blocks and parentheses accepted (Go 1.20+ uses 10000; we stay stack-safe). */
export const MAX_PARSE_DEPTH = 1000;

export interface Tree {
  name: string;
  root: ListNode | null;
}

class Abort extends Error {}

export class Parser {
  private token: Item[] = [];
  private peekCount = 0;
  private vars: string[] = ['$'];
  private actionLine = 0;
  private rangeDepth = 0;
  private depth = 0;
  root: ListNode | null = null;

  public name: string;
  private readonly parseName: string;
  private readonly lex: Lexer;
  private readonly funcs: (name: string) => boolean;
  private readonly treeSet: Map<string, Tree>;
  constructor(name: string, parseName: string, lex: Lexer, funcs: (name: string) => boolean, treeSet: Map<string, Tree>) {
    this.name = name;
    this.parseName = parseName;
    this.lex = lex;
    this.funcs = funcs;
    this.treeSet = treeSet;
  }

  // ---- token stream with Go's three-token lookahead
  private next(): Item {
    if (this.peekCount > 0) this.peekCount--;
    else this.token[0] = this.lex.nextItem();
    return this.token[this.peekCount]!;
  }
  private backup(): void {
    this.peekCount++;
  }
  private backup2(t1: Item): void {
    this.token[1] = t1;
    this.peekCount = 2;
  }
  private backup3(t2: Item, t1: Item): void {
    this.token[1] = t1;
    this.token[2] = t2;
    this.peekCount = 3;
  }
  private peek(): Item {
    if (this.peekCount > 0) return this.token[this.peekCount - 1]!;
    this.peekCount = 1;
    this.token[0] = this.lex.nextItem();
    return this.token[0];
  }
  private nextNonSpace(): Item {
    let t: Item;
    do t = this.next();
    while (t.typ === T.Space);
    return t;
  }
  private peekNonSpace(): Item {
    const t = this.nextNonSpace();
    this.backup();
    return t;
  }

  // ---- errors
  errorf(msg: string): never {
    this.root = null;
    throw new Abort(`template: ${this.parseName}:${this.token[0]?.line ?? 1}: ${msg}`);
  }
  private expect(typ: T, context: string): Item {
    const t = this.nextNonSpace();
    if (t.typ !== typ) this.unexpected(t, context);
    return t;
  }
  private unexpected(t: Item, context: string): never {
    if (t.typ === T.Error) {
      let extra = '';
      if (this.actionLine !== 0 && this.actionLine !== t.line) {
        extra = ` in action started at ${this.parseName}:${this.actionLine}`;
        if (t.val.endsWith(' action')) extra = extra.slice(' in action'.length);
      }
      this.errorf(`${itemString(t)}${extra}`);
    }
    this.errorf(`unexpected ${itemString(t)} in ${context}`);
  }
  private enter(): void {
    if (++this.depth > MAX_PARSE_DEPTH) this.errorf('max expression depth exceeded');
  }

  // ---- templates
  private child(name: string): Parser {
    const p = new Parser(name, this.parseName, this.lex, this.funcs, this.treeSet);
    p.depth = this.depth;
    return p;
  }

  parse(): void {
    this.root = { type: 'list', pos: this.peek().pos, nodes: [] };
    while (this.peek().typ !== T.EOF) {
      if (this.peek().typ === T.LeftDelim) {
        const delim = this.next();
        if (this.nextNonSpace().typ === T.Define) {
          const def = this.child('definition');
          def.parseDefinition();
          continue;
        }
        this.backup2(delim);
      }
      const n = this.textOrAction();
      if (n.type === 'end' || n.type === 'else') this.errorf(`unexpected {{${n.type}}}`);
      this.root.nodes.push(n);
    }
  }

  private parseDefinition(): void {
    const context = 'define clause';
    const t = this.nextNonSpace();
    if (t.typ !== T.String && t.typ !== T.RawString) this.unexpected(t, context);
    this.name = this.unquoteOrFail(t.val);
    this.expect(T.RightDelim, context);
    const [list, end] = this.itemList();
    this.root = list;
    if (end.type !== 'end') this.errorf(`unexpected ${endString(end)} in ${context}`);
    this.add();
  }

  add(): void {
    const existing = this.treeSet.get(this.name);
    if (!existing || isEmptyTree(existing.root)) {
      this.treeSet.set(this.name, { name: this.name, root: this.root });
      return;
    }
    if (!isEmptyTree(this.root)) this.errorf(`template: multiple definition of template ${quote(this.name)}`);
  }

  private itemList(): [ListNode, Node] {
    const list: ListNode = { type: 'list', pos: this.peekNonSpace().pos, nodes: [] };
    while (this.peekNonSpace().typ !== T.EOF) {
      const n = this.textOrAction();
      if (n.type === 'end' || n.type === 'else') return [list, n];
      list.nodes.push(n);
    }
    this.errorf('unexpected EOF');
  }

  private textOrAction(): Node {
    const t = this.nextNonSpace();
    switch (t.typ) {
      case T.Text:
        return { type: 'text', pos: t.pos, text: t.val };
      case T.LeftDelim: {
        this.actionLine = t.line;
        try {
          return this.action();
        } finally {
          this.actionLine = 0;
        }
      }
      default:
        this.unexpected(t, 'input');
    }
  }

  private action(): Node {
    const t = this.nextNonSpace();
    switch (t.typ) {
      case T.Block:
        return this.blockControl();
      case T.Break:
      case T.Continue:
        return this.loopControl(t);
      case T.Else:
        return this.elseControl();
      case T.End:
        return { type: 'end', pos: this.expect(T.RightDelim, 'end').pos, line: t.line };
      case T.If:
        return this.branch('if');
      case T.Range:
        return this.branch('range');
      case T.Template:
        return this.templateControl();
      case T.With:
        return this.branch('with');
    }
    this.backup();
    const tok = this.peek();
    return { type: 'action', pos: tok.pos, line: tok.line, pipe: this.pipeline('command', T.RightDelim) };
  }

  private loopControl(t: Item): Node {
    const word = t.typ === T.Break ? 'break' : 'continue';
    const next = this.nextNonSpace();
    if (next.typ !== T.RightDelim) this.unexpected(next, `{{${word}}}`);
    if (this.rangeDepth === 0) this.errorf(`{{${word}}} outside {{range}}`);
    return { type: word, pos: t.pos, line: t.line };
  }

  private pipeline(context: string, end: T): Pipe {
    const first = this.peekNonSpace();
    const pipe: Pipe = { type: 'pipe', pos: first.pos, line: first.line, isAssign: false, decl: [], cmds: [] };
    for (;;) {
      const v = this.peekNonSpace();
      if (v.typ !== T.Variable) break;
      this.next();
      const after = this.peek();
      const next = this.peekNonSpace();
      if (next.typ === T.Assign || next.typ === T.Declare) {
        pipe.isAssign = next.typ === T.Assign;
        this.nextNonSpace();
        pipe.decl.push(variable(v));
        this.vars.push(v.val);
      } else if (next.typ === T.Char && next.val === ',') {
        this.nextNonSpace();
        pipe.decl.push(variable(v));
        this.vars.push(v.val);
        if (context === 'range' && pipe.decl.length < 2) {
          const p = this.peekNonSpace().typ;
          if (p === T.Variable || p === T.RightDelim || p === T.RightParen) continue;
          this.errorf('range can only initialize variables');
        }
        this.errorf(`too many declarations in ${context}`);
      } else if (after.typ === T.Space) {
        this.backup3(v, after);
      } else {
        this.backup2(v);
      }
      break;
    }
    for (;;) {
      const t = this.nextNonSpace();
      switch (t.typ) {
        case end:
          this.checkPipeline(pipe, context);
          return pipe;
        case T.Bool:
        case T.CharConstant:
        case T.Complex:
        case T.Dot:
        case T.Field:
        case T.Identifier:
        case T.Number:
        case T.Nil:
        case T.RawString:
        case T.String:
        case T.Variable:
        case T.LeftParen:
          this.backup();
          pipe.cmds.push(this.command());
          break;
        default:
          this.unexpected(t, context);
      }
    }
  }

  private checkPipeline(pipe: Pipe, context: string): void {
    if (pipe.cmds.length === 0) this.errorf(`missing value for ${context}`);
    pipe.cmds.slice(1).forEach((c, i) => {
      const k = c.args[0]!.type;
      if (k === 'bool' || k === 'dot' || k === 'nil' || k === 'number' || k === 'string') {
        this.errorf(`non executable command in pipeline stage ${i + 2}`);
      }
    });
  }

  private branch(context: 'if' | 'range' | 'with'): Node {
    this.enter();
    const mark = this.vars.length;
    const pipe = this.pipeline(context, T.RightDelim);
    if (context === 'range') this.rangeDepth++;
    let [list, next] = this.itemList();
    if (context === 'range') this.rangeDepth--;
    let elseList: ListNode | null = null;
    if (next.type === 'else') {
      if (context === 'if' && this.peek().typ === T.If) {
        this.next();
        elseList = { type: 'list', pos: next.pos, nodes: [this.branch('if')] };
      } else {
        [elseList, next] = this.itemList();
        if (next.type !== 'end') this.errorf(`expected end; found ${endString(next)}`);
      }
    }
    this.vars.length = mark;
    this.depth--;
    return { type: context, pos: pipe.pos, line: pipe.line, pipe, list, elseList };
  }

  private elseControl(): Node {
    const peek = this.peekNonSpace();
    if (peek.typ === T.If) return { type: 'else', pos: peek.pos, line: peek.line };
    const t = this.expect(T.RightDelim, 'else');
    return { type: 'else', pos: t.pos, line: t.line };
  }

  private blockControl(): Node {
    const context = 'block clause';
    const t = this.nextNonSpace();
    const name = this.templateName(t, context);
    const pipe = this.pipeline(context, T.RightDelim);
    const block = this.child(name);
    this.enter();
    const [list, end] = block.itemList();
    this.depth--;
    block.root = list;
    if (end.type !== 'end') this.errorf(`unexpected ${endString(end)} in ${context}`);
    block.add();
    return { type: 'template', pos: t.pos, line: t.line, name, pipe };
  }

  private templateControl(): Node {
    const context = 'template clause';
    const t = this.nextNonSpace();
    const name = this.templateName(t, context);
    let pipe: Pipe | null = null;
    if (this.nextNonSpace().typ !== T.RightDelim) {
      this.backup();
      pipe = this.pipeline(context, T.RightDelim);
    }
    return { type: 'template', pos: t.pos, line: t.line, name, pipe };
  }

  private templateName(t: Item, context: string): string {
    if (t.typ !== T.String && t.typ !== T.RawString) this.unexpected(t, context);
    return this.unquoteOrFail(t.val);
  }

  private unquoteOrFail(lit: string): string {
    try {
      return unquote(lit);
    } catch {
      this.errorf('invalid syntax');
    }
  }

  private command(): Command {
    const cmd: Command = { type: 'command', pos: this.peekNonSpace().pos, args: [] };
    for (;;) {
      this.peekNonSpace();
      const operand = this.operand();
      if (operand) cmd.args.push(operand);
      const t = this.next();
      if (t.typ === T.Space) continue;
      if (t.typ === T.RightDelim || t.typ === T.RightParen) this.backup();
      else if (t.typ !== T.Pipe) this.unexpected(t, 'operand');
      break;
    }
    if (cmd.args.length === 0) this.errorf('empty command');
    return cmd;
  }

  private operand(): Arg | null {
    const node = this.term();
    if (!node) return null;
    if (this.peek().typ !== T.Field) return node;
    const pos = this.peek().pos;
    const fields: string[] = [];
    while (this.peek().typ === T.Field) fields.push(this.next().val.slice(1));
    switch (node.type) {
      case 'field':
        return { type: 'field', pos, ident: [...node.ident, ...fields] };
      case 'variable':
        return { type: 'variable', pos, ident: [...node.ident, ...fields] };
      case 'bool':
      case 'string':
      case 'number':
      case 'nil':
      case 'dot':
        this.errorf(`unexpected . after term ${quote(nodeText(node))}`);
      default:
        return { type: 'chain', pos, node, field: fields };
    }
  }

  private term(): Arg | null {
    const t = this.nextNonSpace();
    switch (t.typ) {
      case T.Identifier:
        if (!this.funcs(t.val)) this.errorf(`function ${quote(t.val)} not defined`);
        return { type: 'identifier', pos: t.pos, ident: t.val };
      case T.Dot:
        return { type: 'dot', pos: t.pos };
      case T.Nil:
        return { type: 'nil', pos: t.pos };
      case T.Variable:
        return this.useVar(t);
      case T.Field:
        return { type: 'field', pos: t.pos, ident: t.val.slice(1).split('.') };
      case T.Bool:
        return { type: 'bool', pos: t.pos, value: t.val === 'true' };
      case T.CharConstant:
      case T.Complex:
      case T.Number: {
        const kind = t.typ === T.CharConstant ? 'char' : t.typ === T.Complex ? 'complex' : 'number';
        try {
          return { type: 'number', pos: t.pos, num: parseNumber(t.val, kind) };
        } catch (err) {
          this.errorf((err as Error).message);
        }
      }
      case T.LeftParen: {
        this.enter();
        const p = this.pipeline('parenthesized pipeline', T.RightParen);
        this.depth--;
        return p;
      }
      case T.String:
      case T.RawString:
        return { type: 'string', pos: t.pos, quoted: t.val, text: this.unquoteOrFail(t.val) };
    }
    this.backup();
    return null;
  }

  private useVar(t: Item): VariableNode {
    const v = variable(t);
    if (!this.vars.includes(v.ident[0]!)) this.errorf(`undefined variable ${quote(v.ident[0]!)}`);
    return v;
  }
}

function variable(t: Item): VariableNode {
  return { type: 'variable', pos: t.pos, ident: t.val.split('.') };
}

function nodeText(n: Arg): string {
  switch (n.type) {
    case 'bool':
      return n.value ? 'true' : 'false';
    case 'string':
      return n.quoted;
    case 'number':
      return n.num.text;
    case 'nil':
      return 'nil';
    default:
      return '.';
  }
}

function endString(n: Node): string {
  return n.type === 'end' ? '{{end}}' : n.type === 'else' ? '{{else}}' : n.type;
}

/** parse.IsEmptyTree: only blank text and comments. */
export function isEmptyTree(n: Node | null): boolean {
  if (n === null) return true;
  if (n.type === 'list') return n.nodes.every(isEmptyTree);
  if (n.type === 'text') return /^[\t\n\v\f\r ]*$/.test(n.text);
  return false;
}

/** Parses `text` into trees by template name, or throws a TemplateError with Go's message. */
export function parseTemplates(name: string, text: string, hasFunction: (name: string) => boolean): Map<string, Tree> {
  const treeSet = new Map<string, Tree>();
  const p = new Parser(name, name, new Lexer(text), hasFunction, treeSet);
  try {
    p.parse();
    p.add();
  } catch (err) {
    if (err instanceof Abort) throw templateError(err.message);
    throw err;
  }
  return treeSet;
}
