/**
 * The code blocks of a Markdown file, with the `<!-- docs-test: … -->` directive written just
 * before each (docs/development.md, "The docs are tested", lists them).
 */

export type Directive =
  | { kind: 'run'; stop: boolean }
  | { kind: 'background'; stop: boolean; daemons: number }
  | { kind: 'skip'; reason: string }
  | { kind: 'file'; name: string };

export interface Block {
  /** The fence's info string: `sh`, `yaml`, `` (none)… */
  lang: string;
  /** 1-based line of the opening fence, for messages. */
  line: number;
  body: string;
  directive: Directive;
}

const DIRECTIVE = /^<!-- docs-test: (.*?) -->$/;
/** The languages whose blocks are commands to run. */
export const SHELL_LANGS = new Set(['sh', 'bash', 'shell']);

/** `stop`, `background [N]` or both (`stop, background`); `skip REASON`; `file NAME`. */
function parseDirective(text: string, where: string): Directive {
  const words = text.trim().split(/\s+/);
  if (words[0] === 'skip') {
    if (words.length < 2) throw new Error(`${where}: "skip" needs a reason`);
    return { kind: 'skip', reason: words.slice(1).join(' ') };
  }
  if (words[0] === 'file') {
    const name = words[1] ?? '';
    if (words.length !== 2 || !/^[\w.-]+(\/[\w.-]+)*$/.test(name) || name.split('/').includes('..'))
      throw new Error(`${where}: "file" needs one relative file name`);
    return { kind: 'file', name };
  }
  let stop = false;
  let daemons: number | undefined;
  for (const part of text.split(',').map((s) => s.trim())) {
    const [word, count, ...extra] = part.split(/\s+/);
    if (word === 'stop' && count === undefined) stop = true;
    else if (word === 'background' && extra.length === 0) {
      daemons = count === undefined ? 1 : Number(count);
      if (!Number.isInteger(daemons) || daemons < 1 || daemons > 10) throw new Error(`${where}: "background" takes a count of daemons (1 to 10), not ${count}`);
    } else throw new Error(`${where}: unknown docs-test directive "${part}"`);
  }
  return daemons === undefined ? { kind: 'run', stop } : { kind: 'background', stop, daemons };
}

/** Every fenced block of `markdown`, in order; `file` names it in errors. */
export function codeBlocks(markdown: string, file: string): Block[] {
  const lines = markdown.split('\n');
  const blocks: Block[] = [];
  let pending: Directive | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const d = DIRECTIVE.exec(line.trim());
    if (d) {
      pending = parseDirective(d[1]!, `${file}:${i + 1}`);
      continue;
    }
    const fence = /^```(\S*)\s*$/.exec(line);
    if (!fence) {
      if (line.trim() !== '') pending = undefined; // a directive applies to the block right after it
      continue;
    }
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !lines[i]!.startsWith('```'); i++) body.push(lines[i]!);
    if (i >= lines.length) throw new Error(`${file}:${start + 1}: unclosed code block`);
    blocks.push({ lang: fence[1]!, line: start + 1, body: `${body.join('\n')}\n`, directive: pending ?? { kind: 'run', stop: false } });
    pending = undefined;
  }
  return blocks;
}
