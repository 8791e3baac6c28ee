/**
 * `npm run driver:test -- PATH_OR_SOCKET [flags]`: the driver contract suite (contract.ts) for
 * plugin authors, against a driver module or package, or a Docker secret-provider plugin socket.
 * node:test prints one line per rule; the exit status is non-zero when a rule fails.
 * Not a `*.test.ts` file, so test/run.mjs never picks it up.
 */
import { after } from 'node:test';
import { parseArgs } from 'node:util';
import { driverContract, type ContractOptions } from './contract.ts';

const USAGE = `usage: npm run driver:test -- PATH_OR_SOCKET [flags]

PATH_OR_SOCKET  a driver module (./my-driver.ts, .js/.mjs) or an installed package name, or a
                Docker plugin: unix:///run/docker/plugins/NAME.sock, a *.sock path, tcp://HOST:PORT

  --secret NAME         a secret the driver serves (writable drivers: default a fresh name)
  --label K=V           a label of that secret (SecretLabels); repeat for several
  --option K=V          its Driver.Options; repeat for several
  --setting K=V         a setting given to init (as --driver-opt NAME.K=V); repeat for several
  --data TEXT           writable drivers: the data to store (default random text)
  --unknown-secret NAME a secret the driver must refuse (default a fresh contract-unknown-… name)
  --unknown-label K=V   a label of that refused request; repeat for several
  --resolve NAME        providers: a driver name the provider resolves
  --template TEXT       templating drivers: a template without template syntax
  --bad-template TEXT   templating drivers: a template the engine refuses (default "{{")
  --timeout MS          how long each hook or plugin call may take (default 5000)
  -h, --help            this text`;

const { values: flags, positionals } = parseArgs({
  // `node … driver-test.ts -- X` passes the `--` on; after it parseArgs would take flags as positionals.
  args: process.argv.slice(2).filter((a, i) => !(i === 0 && a === '--')),
  allowPositionals: true,
  options: {
    secret: { type: 'string' },
    label: { type: 'string', multiple: true },
    option: { type: 'string', multiple: true },
    setting: { type: 'string', multiple: true },
    data: { type: 'string' },
    'unknown-secret': { type: 'string' },
    'unknown-label': { type: 'string', multiple: true },
    resolve: { type: 'string' },
    template: { type: 'string' },
    'bad-template': { type: 'string' },
    timeout: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});

if (flags.help || positionals.length !== 1) {
  (flags.help ? console.log : console.error)(USAGE);
  process.exit(flags.help ? 0 : 2);
}

/** `K=V` pairs as a map; the value may contain `=`. */
function pairs(list: string[] | undefined, flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list ?? []) {
    const eq = item.indexOf('=');
    if (eq <= 0) {
      console.error(`--${flag} ${JSON.stringify(item)}: use KEY=VALUE`);
      process.exit(2);
    }
    out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

const timeoutMs = flags.timeout === undefined ? undefined : Number(flags.timeout);
if (timeoutMs !== undefined && !(Number.isInteger(timeoutMs) && timeoutMs > 0)) {
  console.error(`--timeout ${JSON.stringify(flags.timeout)}: a positive number of milliseconds`);
  process.exit(2);
}

const options: ContractOptions = {
  secret: flags.secret,
  labels: pairs(flags.label, 'label'),
  options: pairs(flags.option, 'option'),
  settings: pairs(flags.setting, 'setting'),
  data: flags.data,
  resolve: flags.resolve,
  template: flags.template,
  badTemplate: flags['bad-template'],
  timeoutMs,
  // npm runs scripts from the package root; paths are the author's, relative to where they typed.
  cwd: process.env.INIT_CWD ?? process.cwd(),
};
if (flags['unknown-secret'] !== undefined || flags['unknown-label'] !== undefined) {
  options.unknown = { secret: flags['unknown-secret'], labels: pairs(flags['unknown-label'], 'unknown-label') };
}

driverContract(positionals[0]!, options);
// A driver that leaves a timer or socket open after close() would keep this process (and the
// summary) waiting forever; that is a failure of its own: a stopping daemon would wait too.
after(() => {
  setTimeout(() => {
    const open = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap' && r !== 'PipeWrap'); // stdio;
    console.error(`✖ the driver left ${open.join(', ') || 'handles'} open 2 s after close(): clear timers and close sockets in close()`);
    process.exit(1);
  }, 2000).unref();
});
