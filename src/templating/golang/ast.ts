/**
 * The syntax tree of a parsed template, mirroring Go's text/template/parse nodes, and each node's
 * source form (Go's Node.String), which execution errors quote as `at <...>`.
 */
import { quote } from './bytes.ts';

export interface NumberInfo {
  text: string;
  isInt: boolean;
  isUint: boolean;
  isFloat: boolean;
  isComplex: boolean;
  int: bigint;
  uint: bigint;
  float: number;
  complex: { re: number; im: number };
}

export type Node =
  | { type: 'list'; pos: number; nodes: Node[] }
  | { type: 'text'; pos: number; text: string }
  | { type: 'action'; pos: number; line: number; pipe: Pipe }
  | BranchNode
  | { type: 'template'; pos: number; line: number; name: string; pipe: Pipe | null }
  | { type: 'break' | 'continue'; pos: number; line: number }
  | { type: 'end' | 'else'; pos: number; line: number }
  | Pipe
  | Command
  | Arg;

export type ListNode = Extract<Node, { type: 'list' }>;
export interface BranchNode {
  type: 'if' | 'range' | 'with';
  pos: number;
  line: number;
  pipe: Pipe;
  list: ListNode;
  elseList: ListNode | null;
}
export interface Pipe {
  type: 'pipe';
  pos: number;
  line: number;
  isAssign: boolean;
  decl: VariableNode[];
  cmds: Command[];
}
export interface Command {
  type: 'command';
  pos: number;
  args: Arg[];
}
export interface VariableNode {
  type: 'variable';
  pos: number;
  ident: string[];
}

export type Arg =
  | Pipe
  | VariableNode
  | { type: 'field'; pos: number; ident: string[] }
  | { type: 'chain'; pos: number; node: Arg; field: string[] }
  | { type: 'identifier'; pos: number; ident: string }
  | { type: 'dot' | 'nil'; pos: number }
  | { type: 'bool'; pos: number; value: boolean }
  | { type: 'number'; pos: number; num: NumberInfo }
  | { type: 'string'; pos: number; quoted: string; text: string };

/** Go's String() of a node. */
export function nodeString(n: Node): string {
  switch (n.type) {
    case 'list':
      return n.nodes.map(nodeString).join('');
    case 'text':
      return quote(n.text);
    case 'action':
      return `{{${nodeString(n.pipe)}}}`;
    case 'if':
    case 'range':
    case 'with':
      return `{{${n.type} ${nodeString(n.pipe)}}}${nodeString(n.list)}` + (n.elseList ? `{{else}}${nodeString(n.elseList)}` : '') + '{{end}}';
    case 'template':
      return `{{template ${quote(n.name)}${n.pipe ? ' ' + nodeString(n.pipe) : ''}}}`;
    case 'break':
    case 'continue':
      return `{{${n.type}}}`;
    case 'end':
      return '{{end}}';
    case 'else':
      return '{{else}}';
    case 'pipe':
      return (n.decl.length ? n.decl.map(nodeString).join(', ') + ' := ' : '') + n.cmds.map(nodeString).join(' | ');
    case 'command':
      return n.args.map((a) => (a.type === 'pipe' ? `(${nodeString(a)})` : nodeString(a))).join(' ');
    case 'variable':
      return n.ident.join('.');
    case 'field':
      return n.ident.map((i) => '.' + i).join('');
    case 'chain':
      return (n.node.type === 'pipe' ? `(${nodeString(n.node)})` : nodeString(n.node)) + n.field.map((f) => '.' + f).join('');
    case 'identifier':
      return n.ident;
    case 'dot':
      return '.';
    case 'nil':
      return 'nil';
    case 'bool':
      return n.value ? 'true' : 'false';
    case 'number':
      return n.num.text;
    case 'string':
      return n.quoted;
  }
}
