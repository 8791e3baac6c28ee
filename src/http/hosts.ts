/**
 * Host names as the edge compares them: the one loopback predicate (listeners, the console's
 * rules, the Host check) and the parse of a `Host` header. Names compare case-insensitively;
 * IPv6 literals are bracketed in headers, bare in listener addresses.
 */
import { isIP } from 'node:net';

/** localhost, ::1 and 127.0.0.0/8: reachable from this machine only. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  return h === 'localhost' || h === '::1' || (isIP(h) === 4 && h.startsWith('127.'));
}

/** The host part of a `Host` header (`name`, `name:port`, `[v6]`, `[v6]:port`), lowercased and unbracketed; undefined if malformed. */
export function hostOfHeader(header: string | undefined): string | undefined {
  if (!header || header.length > 300) return undefined;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]/@\s]+))(?::\d{1,5})?$/.exec(header);
  if (!m) return undefined;
  return (m[1] ?? m[2]!).toLowerCase();
}
