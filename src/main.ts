/** `secretd`: the daemon (`secretd [OPTIONS]`), or a client command (`secretd secret|stack|token|get|materialize|audit …`). */
import { isCommand, runCommand } from './cli/main.ts';
import { runDaemon } from './daemon/run.ts';
import { enterUserWorkingDir } from './cli/working-dir.ts';

enterUserWorkingDir();

const [first, ...rest] = process.argv.slice(2);
const done = isCommand(first) ? runCommand(first, rest) : runDaemon(process.argv.slice(2));
done.then((code) => {
  process.exitCode = code;
  if (!isCommand(first)) process.exit(code); // the daemon may leave handles (drivers) behind
});
