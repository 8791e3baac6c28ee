/**
 * Who is on the other end of a request, as far as the connection tells: for the audit log.
 * Node gives no SO_PEERCRED, so a unix-socket caller's uid is unknown; its socket path is kept.
 */
import type { Context } from 'hono';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Peer } from '../audit/events.ts';

export function callerOf(c: Context): Peer {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  if (!incoming) return { transport: 'in-process' };
  const socket = incoming.socket as Partial<TLSSocket> & IncomingMessage['socket'];
  if (socket.remoteAddress === undefined) {
    const path = (socket as { server?: { address(): unknown } }).server?.address();
    return typeof path === 'string' ? { transport: 'unix', socket: path } : { transport: 'unix' };
  }
  const peer: Peer = { transport: socket.encrypted ? 'tls' : 'tcp', address: socket.remoteAddress };
  if (socket.remotePort !== undefined) peer.port = socket.remotePort;
  const subject = certificateSubject(socket.getPeerCertificate?.());
  if (subject) peer.certSubject = subject;
  return peer;
}

/** `CN=client,O=acme` from a peer certificate's subject; undefined without a certificate. */
function certificateSubject(cert: { subject?: object } | undefined): string | undefined {
  const subject = cert?.subject;
  if (!subject || Object.keys(subject).length === 0) return undefined;
  return Object.entries(subject as Record<string, unknown>)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : String(v)}`)
    .join(',');
}
