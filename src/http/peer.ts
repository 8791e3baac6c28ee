/** What the edge knows about the connection a request came on. */
import type { Context } from 'hono';
import type { IncomingMessage } from 'node:http';

/**
 * True on a unix-socket listener, where only users allowed by the socket's mode can connect
 * (and for in-process calls, which have no connection). TCP connections carry a remote address.
 */
export function onUnixSocket(c: Context): boolean {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  return incoming === undefined || incoming.socket.remoteAddress === undefined;
}
