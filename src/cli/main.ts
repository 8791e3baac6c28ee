/** The client commands of `secretd`: secret, stack, token, keys, get, materialize, audit. Each returns its exit code. */
import { AUDIT_USAGE, auditCommand } from './audit.ts';
import { DaemonError } from './client.ts';
import { GET_USAGE, getCommand } from './get.ts';
import { KEYS_USAGE, keysCommand } from './keys.ts';
import { MATERIALIZE_USAGE, materializeCommand } from './materialize.ts';
import { SECRET_USAGE, secretCommand } from './secret.ts';
import { STACK_USAGE, stackCommand } from './stack.ts';
import { TOKEN_USAGE, tokenCommand } from './token.ts';
import { EXIT, Failure, UsageError } from './usage.ts';

const io = () => ({ out: process.stdout, err: process.stderr, stdin: process.stdin });

export const COMMANDS = {
  secret: { usage: SECRET_USAGE, run: (argv: string[]) => secretCommand(argv, io()) },
  stack: { usage: STACK_USAGE, run: (argv: string[]) => stackCommand(argv, io()) },
  token: { usage: TOKEN_USAGE, run: (argv: string[]) => tokenCommand(argv, process.stdout, process.stderr) },
  keys: { usage: KEYS_USAGE, run: (argv: string[]) => keysCommand(argv, process.stdout) },
  get: { usage: GET_USAGE, run: (argv: string[]) => getCommand(argv, process.stdout) },
  materialize: { usage: MATERIALIZE_USAGE, run: (argv: string[]) => materializeCommand(argv, process.stdout) },
  audit: { usage: AUDIT_USAGE, run: async (argv: string[]) => auditCommand(argv, process.stdout, process.stderr) },
} as const;

export function isCommand(word: string | undefined): word is keyof typeof COMMANDS {
  return word !== undefined && Object.hasOwn(COMMANDS, word);
}

export async function runCommand(name: keyof typeof COMMANDS, argv: string[]): Promise<number> {
  const command = COMMANDS[name];
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(command.usage);
    return EXIT.ok;
  }
  try {
    return await command.run(argv);
  } catch (e) {
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`secretd ${name}: ${(e as Error).message}\nSee 'secretd ${name} --help'.\n`);
      return EXIT.usage;
    }
    process.stderr.write(`${e instanceof DaemonError || e instanceof Failure ? e.message : `secretd ${name}: ${(e as Error).message}`}\n`);
    return EXIT.failed;
  }
}
