/**
 * CPU time a server spends per request, read from outside: the process listening on a side's
 * unix socket is found through /proc, and its user and system time (all its threads) is read
 * before and after a phase. So the bench can say what each answer cost the server, beside how
 * fast it came: a side bound by its own CPU and one waiting on a disk look alike in ops/s alone.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** Clock ticks per second, the unit of /proc/PID/stat's times. */
const TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;

/** `__SO_ACCEPTCON` in /proc/net/unix's flags: the socket listens. */
const LISTENING = 0x10000;

/** The pid of the process listening on `host` (unix:///path only), or undefined when /proc does not tell. */
export function listenerPid(host: string): number | undefined {
  if (!host.startsWith('unix://')) return undefined;
  const path = host.slice('unix://'.length);
  let table: string;
  try {
    table = readFileSync('/proc/net/unix', 'utf8');
  } catch {
    return undefined;
  }
  const inodes = new Set<string>();
  for (const line of table.split('\n').slice(1)) {
    // Num RefCount Protocol Flags Type St Inode Path
    const f = line.trim().split(/\s+/);
    if (f.length >= 8 && f.slice(7).join(' ') === path && (Number.parseInt(f[3]!, 16) & LISTENING) !== 0) inodes.add(`socket:[${f[6]}]`);
  }
  if (inodes.size === 0) return undefined;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${entry}/fd`);
    } catch {
      continue; // gone, or not ours to read
    }
    for (const fd of fds) {
      try {
        if (inodes.has(readlinkSync(`/proc/${entry}/fd/${fd}`))) return Number(entry);
      } catch {
        // closed meanwhile
      }
    }
  }
  return undefined;
}

/** User plus system CPU of `pid` so far, in µs; undefined once it has gone. */
export function cpuMicros(pid: number): number | undefined {
  try {
    // The command name is in parentheses and may hold spaces: the fields follow its last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / TICKS;
  } catch {
    return undefined;
  }
}
