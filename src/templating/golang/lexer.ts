/**
 * The lexer of Go's text/template (delimiters {{ }}), over a Go byte string. It follows Go's
 * state machine closely because parse errors quote its tokens and lines.
 */
import { decodeRune, lastRuneWidth, isLetter, isDigit, formatU, quote, truncateRunes, runeCount } from './bytes.ts';

/** Go's itemType values, as a plain object (no enum: the code runs under type stripping). */
export const T = {
  Error: 0,
  Bool: 1,
  Char: 2,
  CharConstant: 3,
  Comment: 4,
  Complex: 5,
  Assign: 6,
  Declare: 7,
  EOF: 8,
  Field: 9,
  Identifier: 10,
  LeftDelim: 11,
  LeftParen: 12,
  Number: 13,
  Pipe: 14,
  RawString: 15,
  RightDelim: 16,
  RightParen: 17,
  Space: 18,
  String: 19,
  Text: 20,
  Variable: 21,
  Keyword: 22,
  Block: 23,
  Break: 24,
  Continue: 25,
  Dot: 26,
  Define: 27,
  Else: 28,
  End: 29,
  If: 30,
  Nil: 31,
  Range: 32,
  Template: 33,
  With: 34,
} as const;
export type T = (typeof T)[keyof typeof T];

export interface Item {
  typ: T;
  pos: number;
  val: string;
  line: number;
}

const KEYWORDS: Record<string, T> = {
  '.': T.Dot,
  block: T.Block,
  break: T.Break,
  continue: T.Continue,
  define: T.Define,
  else: T.Else,
  end: T.End,
  if: T.If,
  range: T.Range,
  nil: T.Nil,
  template: T.Template,
  with: T.With,
};

/** Go's item.String(): how a token appears in "unexpected X in Y". */
export function itemString(i: Item): string {
  if (i.typ === T.EOF) return 'EOF';
  if (i.typ === T.Error) return i.val;
  if (i.typ > T.Keyword) return `<${i.val}>`;
  if (i.val.length > 10) return (runeCount(i.val) > 10 ? quote(truncateRunes(i.val, 10)) : quote(i.val)) + '...';
  return quote(i.val);
}

const EOF = -1;
const LEFT = '{{';
const RIGHT = '}}';
const isSpace = (r: number) => r === 0x20 || r === 0x09 || r === 0x0d || r === 0x0a;
const isAlnum = (r: number) => r === 0x5f || isLetter(r) || isDigit(r);
const hasLeftTrim = (s: string, i: number) => s[i] === '-' && isSpace(s.charCodeAt(i + 1));
const hasRightTrim = (s: string, i: number) => isSpace(s.charCodeAt(i)) && s[i + 1] === '-';
const SPACE_CHARS = /[ \t\r\n]/;

type State = ((l: Lexer) => State) | null;

export class Lexer {
  pos = 0;
  start = 0;
  atEOF = false;
  line = 1;
  startLine = 1;
  parenDepth = 0;
  state: State = lexText;
  queue: Item[] = [];

  readonly input: string;
  constructor(input: string) {
    this.input = input;
  }

  /** The next token; after EOF or an error, EOF forever. */
  nextItem(): Item {
    while (this.queue.length === 0) {
      if (this.state === null) return { typ: T.EOF, pos: this.pos, val: '', line: this.line };
      this.state = this.state(this);
    }
    return this.queue.shift()!;
  }

  next(): number {
    if (this.pos >= this.input.length) {
      this.atEOF = true;
      return EOF;
    }
    const [r, w] = decodeRune(this.input, this.pos);
    this.pos += w;
    if (r === 0x0a) this.line++;
    return r;
  }
  peek(): number {
    const r = this.next();
    this.backup();
    return r;
  }
  backup(): void {
    if (!this.atEOF && this.pos > 0) {
      const w = lastRuneWidth(this.input, this.pos);
      this.pos -= w;
      if (this.input.charCodeAt(this.pos) === 0x0a) this.line--;
    }
  }
  emit(typ: T): void {
    this.queue.push({ typ, pos: this.start, val: this.input.slice(this.start, this.pos), line: this.startLine });
    this.start = this.pos;
    this.startLine = this.line;
  }
  ignore(): void {
    this.line += count(this.input.slice(this.start, this.pos), '\n');
    this.start = this.pos;
    this.startLine = this.line;
  }
  accept(valid: string): boolean {
    const r = this.next();
    if (r !== EOF && valid.includes(String.fromCodePoint(r))) return true;
    this.backup();
    return false;
  }
  acceptRun(valid: string): void {
    for (;;) {
      const r = this.next();
      if (r === EOF || !valid.includes(String.fromCodePoint(r))) break;
    }
    this.backup();
  }
  errorf(msg: string): State {
    this.queue.push({ typ: T.Error, pos: this.start, val: msg, line: this.startLine });
    return null;
  }
  atRightDelim(): [boolean, boolean] {
    if (hasRightTrim(this.input, this.pos) && this.input.startsWith(RIGHT, this.pos + 2)) return [true, true];
    if (this.input.startsWith(RIGHT, this.pos)) return [true, false];
    return [false, false];
  }
  atTerminator(): boolean {
    const r = this.peek();
    if (isSpace(r)) return true;
    if (r === EOF || r === 0x2e || r === 0x2c || r === 0x7c || r === 0x3a || r === 0x29 || r === 0x28) return true;
    return this.input.startsWith(RIGHT, this.pos);
  }

  // The state functions below reach into the fields above; they are methods in all but name.
  static text(l: Lexer): State {
    const x = l.input.indexOf(LEFT, l.pos);
    if (x >= 0) {
      l.pos = x;
      let trim = 0;
      if (hasLeftTrim(l.input, l.pos + LEFT.length)) trim = rightTrimLength(l.input.slice(l.start, l.pos));
      l.pos -= trim;
      if (l.pos > l.start) {
        l.line += count(l.input.slice(l.start, l.pos), '\n');
        l.emit(T.Text);
      }
      l.pos += trim;
      l.ignore();
      return Lexer.leftDelim;
    }
    l.pos = l.input.length;
    if (l.pos > l.start) {
      l.line += count(l.input.slice(l.start, l.pos), '\n');
      l.emit(T.Text);
    }
    l.emit(T.EOF);
    return null;
  }
  static leftDelim(l: Lexer): State {
    l.pos += LEFT.length;
    const trim = hasLeftTrim(l.input, l.pos);
    const after = trim ? 2 : 0;
    if (l.input.startsWith('/*', l.pos + after)) {
      l.pos += after;
      l.ignore();
      return Lexer.comment;
    }
    l.emit(T.LeftDelim);
    l.pos += after;
    l.ignore();
    l.parenDepth = 0;
    return Lexer.insideAction;
  }
  static comment(l: Lexer): State {
    l.pos += 2;
    const i = l.input.indexOf('*/', l.pos);
    if (i < 0) return l.errorf('unclosed comment');
    l.pos = i + 2;
    const [delim, trim] = l.atRightDelim();
    if (!delim) return l.errorf('comment ends before closing delimiter');
    if (trim) l.pos += 2;
    l.pos += RIGHT.length;
    if (trim) l.pos += leftTrimLength(l.input.slice(l.pos));
    l.ignore();
    return Lexer.text;
  }
  static rightDelim(l: Lexer): State {
    const trim = hasRightTrim(l.input, l.pos);
    if (trim) {
      l.pos += 2;
      l.ignore();
    }
    l.pos += RIGHT.length;
    l.emit(T.RightDelim);
    if (trim) {
      l.pos += leftTrimLength(l.input.slice(l.pos));
      l.ignore();
    }
    return Lexer.text;
  }
  static insideAction(l: Lexer): State {
    const [delim] = l.atRightDelim();
    if (delim) {
      if (l.parenDepth === 0) return Lexer.rightDelim;
      return l.errorf('unclosed left paren');
    }
    const r = l.next();
    if (r === EOF) return l.errorf('unclosed action');
    if (isSpace(r)) {
      l.backup();
      return Lexer.space;
    }
    switch (r) {
      case 0x3d:
        l.emit(T.Assign);
        return Lexer.insideAction;
      case 0x3a:
        if (l.next() !== 0x3d) return l.errorf('expected :=');
        l.emit(T.Declare);
        return Lexer.insideAction;
      case 0x7c:
        l.emit(T.Pipe);
        return Lexer.insideAction;
      case 0x22:
        return Lexer.quote;
      case 0x60:
        return Lexer.rawQuote;
      case 0x24:
        return Lexer.variable;
      case 0x27:
        return Lexer.char;
      case 0x28:
        l.emit(T.LeftParen);
        l.parenDepth++;
        return Lexer.insideAction;
      case 0x29:
        l.emit(T.RightParen);
        l.parenDepth--;
        if (l.parenDepth < 0) return l.errorf(`unexpected right paren ${formatU(r)}`);
        return Lexer.insideAction;
    }
    if (r === 0x2e && l.pos < l.input.length) {
      const c = l.input.charCodeAt(l.pos);
      if (c < 0x30 || c > 0x39) return Lexer.field;
    }
    if (r === 0x2e || r === 0x2b || r === 0x2d || (r >= 0x30 && r <= 0x39)) {
      l.backup();
      return Lexer.number;
    }
    if (isAlnum(r)) {
      l.backup();
      return Lexer.identifier;
    }
    if (r <= 0x7f && r >= 0x20 && r < 0x7f) {
      l.emit(T.Char);
      return Lexer.insideAction;
    }
    return l.errorf(`unrecognized character in action: ${formatU(r)}`);
  }
  static space(l: Lexer): State {
    let n = 0;
    while (isSpace(l.peek())) {
      l.next();
      n++;
    }
    if (hasRightTrim(l.input, l.pos - 1) && l.input.startsWith(RIGHT, l.pos + 1)) {
      l.backup();
      if (n === 1) return Lexer.rightDelim;
    }
    l.emit(T.Space);
    return Lexer.insideAction;
  }
  static identifier(l: Lexer): State {
    for (;;) {
      const r = l.next();
      if (isAlnum(r)) continue;
      l.backup();
      const word = l.input.slice(l.start, l.pos);
      if (!l.atTerminator()) return l.errorf(`bad character ${formatU(r)}`);
      const kw = KEYWORDS[word];
      if (kw !== undefined && kw > T.Keyword) l.emit(kw);
      else if (word[0] === '.') l.emit(T.Field);
      else if (word === 'true' || word === 'false') l.emit(T.Bool);
      else l.emit(T.Identifier);
      return Lexer.insideAction;
    }
  }
  static field(l: Lexer): State {
    return fieldOrVariable(l, T.Field);
  }
  static variable(l: Lexer): State {
    if (l.atTerminator()) {
      l.emit(T.Variable);
      return Lexer.insideAction;
    }
    return fieldOrVariable(l, T.Variable);
  }
  static char(l: Lexer): State {
    return quoted(l, 0x27, T.CharConstant, 'unterminated character constant');
  }
  static number(l: Lexer): State {
    if (!scanNumber(l)) return l.errorf(`bad number syntax: ${quote(l.input.slice(l.start, l.pos))}`);
    const sign = l.peek();
    if (sign === 0x2b || sign === 0x2d) {
      if (!scanNumber(l) || l.input[l.pos - 1] !== 'i') return l.errorf(`bad number syntax: ${quote(l.input.slice(l.start, l.pos))}`);
      l.emit(T.Complex);
    } else {
      l.emit(T.Number);
    }
    return Lexer.insideAction;
  }
  static quote(l: Lexer): State {
    return quoted(l, 0x22, T.String, 'unterminated quoted string');
  }
  static rawQuote(l: Lexer): State {
    for (;;) {
      const r = l.next();
      if (r === EOF) return l.errorf('unterminated raw quoted string');
      if (r === 0x60) break;
    }
    l.emit(T.RawString);
    return Lexer.insideAction;
  }
}

const lexText = Lexer.text;

function fieldOrVariable(l: Lexer, typ: T): State {
  if (l.atTerminator()) {
    l.emit(typ === T.Variable ? T.Variable : T.Dot);
    return Lexer.insideAction;
  }
  let r: number;
  for (;;) {
    r = l.next();
    if (!isAlnum(r)) {
      l.backup();
      break;
    }
  }
  if (!l.atTerminator()) return l.errorf(`bad character ${formatU(r)}`);
  l.emit(typ);
  return Lexer.insideAction;
}

function scanNumber(l: Lexer): boolean {
  l.accept('+-');
  let digits = '0123456789_';
  if (l.accept('0')) {
    if (l.accept('xX')) digits = '0123456789abcdefABCDEF_';
    else if (l.accept('oO')) digits = '01234567_';
    else if (l.accept('bB')) digits = '01_';
  }
  l.acceptRun(digits);
  if (l.accept('.')) l.acceptRun(digits);
  if (digits.length === 11 && l.accept('eE')) {
    l.accept('+-');
    l.acceptRun('0123456789_');
  }
  if (digits.length === 23 && l.accept('pP')) {
    l.accept('+-');
    l.acceptRun('0123456789_');
  }
  l.accept('i');
  if (isAlnum(l.peek())) {
    l.next();
    return false;
  }
  return true;
}

function count(s: string, c: string): number {
  let n = 0;
  for (let i = s.indexOf(c); i >= 0; i = s.indexOf(c, i + 1)) n++;
  return n;
}

function rightTrimLength(s: string): number {
  let i = s.length;
  while (i > 0 && SPACE_CHARS.test(s[i - 1]!)) i--;
  return s.length - i;
}

function leftTrimLength(s: string): number {
  let i = 0;
  while (i < s.length && SPACE_CHARS.test(s[i]!)) i++;
  return i;
}

/** A '…' or "…" literal up to `close`: backslash escapes anything but a newline; no newline inside. */
function quoted(l: Lexer, close: number, kind: T, unterminated: string): State {
  for (;;) {
    let r = l.next();
    if (r === 0x5c) {
      r = l.next();
      if (r !== EOF && r !== 0x0a) continue;
      return l.errorf(unterminated);
    }
    if (r === EOF || r === 0x0a) return l.errorf(unterminated);
    if (r === close) break;
  }
  l.emit(kind);
  return Lexer.insideAction;
}
