/**
 * A cap on the connections one listener holds, so that no crowd of peers can use up the
 * process's file descriptors (which every other listener, the store and the audit log share),
 * and the bound on idle kept-alive connections, which no timer closes (src/http/listen.ts). At the
 * cap, a new connection takes the place of the oldest one that is not serving a request (a TLS
 * handshake never finished, nothing sent yet, a kept-alive connection between requests); only
 * when every connection is serving a request is the new one refused. So idle peers, however
 * many, never lock out a client that completes its handshake and sends a request.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export type Shed = 'evicted' | 'refused';

export function capConnections(server: Server, cap: number, onShed: (what: Shed, remote: string | undefined) => void): void {
  // Insertion order is age; the value counts the requests in progress on the connection.
  const open = new Map<Socket, { requests: number }>();
  server.on('connection', (socket: Socket) => {
    if (open.size >= cap) {
      const idle = oldestIdle(open);
      if (!idle) {
        onShed('refused', socket.remoteAddress);
        socket.destroy();
        return;
      }
      onShed('evicted', idle.remoteAddress);
      open.delete(idle);
      idle.destroy();
    }
    const state = { requests: 0 };
    open.set(socket, state);
    socket.once('close', () => open.delete(socket));
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const state = open.get(transportSocket(req.socket));
    if (!state) return;
    state.requests++;
    res.once('close', () => state.requests--);
  });
}

function oldestIdle(open: Map<Socket, { requests: number }>): Socket | undefined {
  for (const [socket, state] of open) if (state.requests === 0) return socket;
  return undefined;
}

/**
 * The TCP socket under a request's socket: for TLS, the one the server accepted, which Node
 * keeps as `_parent` of the TLSSocket it wrapped around it (not in Node's typings; present
 * since the TLS rewrite of v0.11).
 */
function transportSocket(socket: Socket): Socket {
  return (socket as Socket & { _parent?: Socket | null })._parent ?? socket;
}
