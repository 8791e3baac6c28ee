/** What the edge knows about the connection a request came on. */
import type { Context } from 'hono';
import type { IncomingMessage } from 'node:http';
import { TLSSocket } from 'node:tls';

function incomingOf(c: Context): IncomingMessage | undefined {
  return (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
}

/**
 * True on a unix-socket listener, where only users allowed by the socket's mode can connect
 * (and for in-process calls, which have no connection). TCP connections carry a remote address.
 */
export function onUnixSocket(c: Context): boolean {
  const incoming = incomingOf(c);
  return incoming === undefined || incoming.socket.remoteAddress === undefined;
}

/** True on a TLS connection (a --tls or --tlsverify listener). */
export function overTls(c: Context): boolean {
  return incomingOf(c)?.socket instanceof TLSSocket;
}

/**
 * Who is on the other end of a --tlsverify connection: the subject of the client certificate the
 * CA signed, as `CN=alice` (every attribute, in the certificate's order: `O=acme, CN=alice`).
 * Undefined on a unix socket, plain TCP, or TLS without a verified client certificate.
 */
export function peerCertificateSubject(c: Context): string | undefined {
  const socket = incomingOf(c)?.socket;
  if (!(socket instanceof TLSSocket) || !socket.authorized) return undefined;
  const subject = socket.getPeerCertificate().subject as Record<string, string | string[]> | undefined;
  if (!subject) return undefined;
  const parts = Object.entries(subject).flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((one) => `${k}=${one}`));
  return parts.length > 0 ? parts.join(', ') : undefined;
}
