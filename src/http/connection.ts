/**
 * Who is on the other end of a request, computed once per request from the listener the
 * connection was accepted on (never from the peer address: a TCP peer that resets at once has
 * none, and must not look like a unix-socket caller). Node gives no SO_PEERCRED, so a
 * unix-socket caller is known by its socket's path, whose mode (0660) says who could connect.
 */
import { TLSSocket } from 'node:tls';
import type { Caller, EdgeBindings } from './env.ts';

/** The caller of a request with these bindings. */
export function callerOf(env: EdgeBindings): Caller {
  if (env.onBehalfOf) return env.onBehalfOf;
  const listener = env.listener;
  if (!listener) return { transport: 'in-process' };
  if (listener.transport === 'unix') return listener.path ? { transport: 'unix', socket: listener.path } : { transport: 'unix' };
  const caller: Caller = { transport: listener.transport };
  const socket = env.incoming?.socket;
  if (socket?.remoteAddress !== undefined) caller.address = socket.remoteAddress;
  if (socket?.remotePort !== undefined) caller.port = socket.remotePort;
  const subject = socket instanceof TLSSocket ? verifiedSubject(socket) : undefined;
  if (subject) caller.certSubject = subject;
  return caller;
}

/**
 * The subject of the client certificate the CA signed, every attribute in the certificate's
 * order (`O=acme, CN=alice`); `\`, `,`, `+`, `=` and `"` in values are escaped, so a value
 * cannot pass for another attribute. Undefined without a verified client certificate.
 */
function verifiedSubject(socket: TLSSocket): string | undefined {
  if (!socket.authorized) return undefined;
  const subject = socket.getPeerCertificate().subject as Record<string, string | string[]> | undefined;
  if (!subject) return undefined;
  const parts = Object.entries(subject).flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((one) => `${k}=${escaped(String(one))}`));
  return parts.length > 0 ? parts.join(', ') : undefined;
}

function escaped(value: string): string {
  return value.replace(/[\\,+="]/g, (ch) => `\\${ch}`);
}
