/**
 * How idle the machine was: the bench's ratios hold only for a host that lent it all its CPUs,
 * and on a shared VM they move by half within minutes. Read from /proc: the CPU time of every
 * process (the bench's own and its servers' included), the time the hypervisor gave to other
 * guests (steal), and the share of time some task waited for a CPU (pressure, PSI). A sample
 * before the run says whether anything else was running; one over the measured rounds says
 * how much CPU the run lost to neighbours.
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';

export interface HostSample {
  /** performance.now() when read. */
  at: number;
  /** Jiffies over all CPUs: all of them, those spent idle (idle + iowait), and stolen. */
  total: number;
  idle: number;
  steal: number;
  /** /proc/pressure/cpu `some total`, µs; undefined without PSI. */
  pressureMicros: number | undefined;
}

export interface HostLoad {
  cpus: number;
  seconds: number;
  /** Percent of all CPUs' time: busy (not idle, not stolen), and stolen by the hypervisor. */
  busyPct: number;
  stealPct: number;
  /** Percent of the wall time some task waited for a CPU; undefined without PSI. */
  pressurePct: number | undefined;
}

/** What a run reports of the host: before it started, and over its measured part (once measured). */
export interface HostReport {
  before: HostLoad | undefined;
  during?: HostLoad | undefined;
}

/** Busy share above which a host sampled before the run is called not idle. */
export const IDLE_BUSY_PCT = 10;
/** Steal share above which a run is called not idle: other guests took that much of its CPUs. */
export const IDLE_STEAL_PCT = 5;

/** Undefined where there is no /proc/stat (not Linux): the bench then says the load is unknown. */
export function sampleHost(): HostSample | undefined {
  let line: string;
  try {
    line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  } catch {
    return undefined;
  }
  // cpu  user nice system idle iowait irq softirq steal guest guest_nice (guests are in user)
  const f = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = f as [number, number, number, number, number, number, number, number];
  return {
    at: performance.now(),
    total: user + nice + system + idle + iowait + irq + softirq + steal,
    idle: idle + iowait,
    steal,
    pressureMicros: readPressure(),
  };
}

function readPressure(): number | undefined {
  try {
    const some = readFileSync('/proc/pressure/cpu', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('some '));
    const total = some?.match(/\btotal=(\d+)/)?.[1];
    return total === undefined ? undefined : Number(total);
  } catch {
    return undefined;
  }
}

export function loadBetween(a: HostSample | undefined, b: HostSample | undefined): HostLoad | undefined {
  if (!a || !b) return undefined;
  const total = Math.max(1, b.total - a.total);
  const idle = b.idle - a.idle;
  const steal = b.steal - a.steal;
  const wallMicros = Math.max(1, (b.at - a.at) * 1000);
  return {
    cpus: cpus().length,
    seconds: (b.at - a.at) / 1000,
    busyPct: (100 * (total - idle - steal)) / total,
    stealPct: (100 * steal) / total,
    pressurePct: a.pressureMicros === undefined || b.pressureMicros === undefined ? undefined : (100 * (b.pressureMicros - a.pressureMicros)) / wallMicros,
  };
}

/** The host's load while nothing of the bench runs yet, over `ms`. */
export async function idleCheck(ms = 1000): Promise<HostLoad | undefined> {
  const a = sampleHost();
  await new Promise((resolve) => setTimeout(resolve, ms));
  return loadBetween(a, sampleHost());
}

export function describeLoad(load: HostLoad | undefined): string {
  if (!load) return 'unknown (no /proc/stat)';
  const pressure = load.pressurePct === undefined ? '' : `, CPU pressure ${load.pressurePct.toFixed(1)} %`;
  return `${load.cpus} CPUs, ${load.busyPct.toFixed(1)} % busy, ${load.stealPct.toFixed(1)} % stolen${pressure} over ${load.seconds.toFixed(1)} s`;
}

/** Samples the host for a second before anything of the run starts, and logs what it found. */
export async function checkIdleBefore(log: (line: string) => void): Promise<HostLoad | undefined> {
  const load = await idleCheck();
  const busy = load !== undefined && (load.busyPct > IDLE_BUSY_PCT || load.stealPct > IDLE_STEAL_PCT);
  log(`host before the run: ${describeLoad(load)}${busy ? ' -- NOT idle: its numbers say less of secretd' : ''}`);
  return load;
}

/** The report line for the measured part of a run: busy is the run's own doing, CPU another guest took is not. */
export function duringLine(load: HostLoad | undefined): string {
  const stolen = load && load.stealPct > IDLE_STEAL_PCT ? ` -- NOT idle: other guests took over ${IDLE_STEAL_PCT} % of the CPUs` : '';
  return `host during the measured part: ${describeLoad(load)}${stolen}`;
}
