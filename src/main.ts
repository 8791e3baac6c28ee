/** `secretd`: the daemon (`secretd [OPTIONS]`), or a client command (`secretd secret|stack|token|keys|get|materialize|audit …`). */
import { isCommand, runCommand } from './cli/main.ts';
import { enterUserWorkingDir } from './cli/working-dir.ts';

enterUserWorkingDir();

const [first, ...rest] = process.argv.slice(2);
// The daemon's modules (store, crypto, HTTP, console) load only for the daemon: a client command
// starts in about half the time without them.
const done = isCommand(first) ? runCommand(first, rest) : import('./daemon/run.ts').then((d) => d.runDaemon(process.argv.slice(2)));
done.then((code) => {
  process.exitCode = code;
  if (!isCommand(first)) process.exit(code); // the daemon may leave handles (drivers) behind
});
