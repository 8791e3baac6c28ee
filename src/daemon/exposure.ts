/**
 * Where the Engine API may listen. Whoever connects holds every secret, so: unix sockets and
 * loopback always; TCP off loopback only with client certificates (--tlsverify), since --tls
 * alone encrypts but lets anyone in; otherwise only with the loudly named flag, and a warning.
 */
import { isLoopback } from '../http/hosts.ts';
import { ListenError, parseAddress } from '../http/listen.ts';
import { INSECURE_LISTEN_FLAG } from './flags.ts';

/** How TCP listeners are protected: nothing, TLS alone (--tls), or TLS with client certificates (--tlsverify). */
export type Protection = 'none' | 'tls' | 'tlsverify';

/**
 * 'ok', or 'insecure' when only the loud flag lets `url` through (the caller warns); throws a
 * ListenError, worded for the operator, when `url` is refused.
 */
export function checkExposure(url: string, protection: Protection, insecure: boolean): 'ok' | 'insecure' {
  const addr = parseAddress(url);
  if (addr.kind !== 'tcp' || isLoopback(addr.host) || protection === 'tlsverify') return 'ok';
  if (insecure) return 'insecure';
  const why = protection === 'none' ? 'and this listener has no TLS' : 'and --tls without --tlsverify encrypts but lets in any client that reaches it';
  throw new ListenError(
    `refusing to listen on ${url}: the Engine API gives full control of every secret, ${why}; ` +
      `use --tlsverify with --tlscacert, --tlscert and --tlskey, listen on 127.0.0.1 or a unix socket, or pass --${INSECURE_LISTEN_FLAG}`,
  );
}
