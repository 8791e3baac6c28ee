/** `secretd`: the daemon (`secretd [OPTIONS]`), or a client command (`secretd secret|stack|token|keys|get|materialize|audit …`). */
import { isCommand, runCommand } from './cli/main.ts';
import { enterUserWorkingDir } from './cli/working-dir.ts';

enterUserWorkingDir();

const [first, ...rest] = process.argv.slice(2);
// The daemon's modules (store, crypto, HTTP, console) load only for the daemon: a client command
// starts in about half the time without them.
const done = isCommand(first) ? runCommand(first, rest) : import('./daemon/run.ts').then((d) => d.runDaemon(process.argv.slice(2)));
// No process.exit: the process ends when nothing is left to do, so a handle left open by a stop
// shows as a process that does not end (test/e2e/daemon.test.ts) instead of being cut off.
done.then((code) => {
  process.exitCode = code;
});
