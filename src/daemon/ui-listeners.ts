/**
 * Where the web console may be served. It answers on TCP listeners only, and off loopback only
 * with --tlsverify: a console on another address without client certificates would hand every
 * secret's metadata, and the power to create and delete secrets, to the network.
 */
import { isLoopback } from '../http/hosts.ts';
import { parseAddress } from '../http/listen.ts';

/** Config problems of `--ui` with these -H addresses (none when the console is off). */
export function uiProblems(ui: boolean, hosts: readonly string[], tlsVerify = false): string[] {
  if (!ui) return [];
  const tcp = hosts.filter((h) => h.startsWith('tcp://'));
  if (tcp.length === 0) return ['--ui needs a TCP listener for the browser: add -H tcp://127.0.0.1:PORT'];
  if (tlsVerify) return [];
  return tcp
    .filter((h) => !onLoopback(h))
    .map(
      (h) => `--ui with -H ${h}: the console is served off loopback only with --tlsverify (client certificates); use tcp://127.0.0.1:PORT or add --tlsverify`,
    );
}

/** Whether a tcp:// address listens on loopback; a malformed one is left to the listener's own error. */
function onLoopback(url: string): boolean {
  try {
    const addr = parseAddress(url);
    return addr.kind !== 'tcp' || isLoopback(addr.host);
  } catch {
    return true;
  }
}
