/**
 * `secretd audit verify FILE`: checks an audit log's hash chain without a daemon. Exit 0 with
 * "N lines, chain intact", or 1 naming the first line that was removed, edited, reordered,
 * inserted or torn. The head file (FILE.head, or --head) also catches a cut tail.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parseHead, verifyChain, type Head } from '../audit/chain.ts';
import { EXIT, UsageError } from './usage.ts';

export const AUDIT_USAGE = `Usage:
  secretd audit verify FILE [--head HEADFILE | --no-head]

Checks the hash chain of an audit log (--audit-log of the daemon; default DATA_ROOT/audit.log).
The head file, FILE.head by default, records the last line written: with it, lines cut from the
end are caught too. Exit 0: intact; 1: broken (the first bad line is named); 2: usage.
`;

export function auditCommand(argv: string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream): number {
  const [action, ...rest] = argv;
  if (action !== 'verify') throw new UsageError(action ? `unknown audit command "${action}"` : 'audit needs a command: verify');
  const { values, positionals } = parseArgs({
    args: rest,
    options: { head: { type: 'string' }, 'no-head': { type: 'boolean' } },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length !== 1) throw new UsageError('audit verify takes one FILE');
  if (values.head !== undefined && values['no-head']) throw new UsageError('--head and --no-head contradict each other');
  const file = positionals[0]!;
  const content = readFileSync(file);
  let head: Head | undefined;
  const headFile = values['no-head'] ? undefined : (values.head ?? `${file}.head`);
  if (headFile !== undefined && (values.head !== undefined || existsSync(headFile))) {
    head = parseHead(readFileSync(headFile, 'utf8').trim());
    if (!head) err.write(`secretd audit: ${headFile} is not a head file; checking the chain alone\n`);
  }
  const v = verifyChain(content, head);
  for (const note of v.notes) err.write(`note: ${note}\n`);
  if (v.problem) {
    err.write(`${file}: line ${v.problem.line}: ${v.problem.message}\n`);
    out.write(`chain broken at line ${v.problem.line}\n`);
    return EXIT.failed;
  }
  out.write(`${v.lines} lines, chain intact (last seq ${v.lastSeq}${head ? ', matches the head file' : ', no head file: a cut tail would not show'})\n`);
  return EXIT.ok;
}
