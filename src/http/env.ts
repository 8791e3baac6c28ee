/**
 * The edge's types, declared once: what a request carries into the app (`Bindings`: the Node
 * request, the listener it was accepted on, the parsed target) and what middleware sets for the
 * routes (`Variables`: the caller, the API version, the audit notes). Every route and middleware
 * is a `Hono<EdgeEnv>` handler, so none of it needs a cast.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Peer, ValueVersionsChange } from '../audit/events.ts';
import type { WriteOptions } from '../store/types.ts';

/** Who sent a request: the same object the request log and the audit log print. */
export type Caller = Peer;

/** A listener, as the connections it accepts are told about it (from src/http/listen.ts). */
export interface ListenerInfo {
  /** Decided when the listener was made, never from a connection's peer address. */
  transport: 'unix' | 'tcp' | 'tls';
  /** The socket file, for `unix`. */
  path?: string;
  /** The address it was bound to, for `tcp`/`tls` (`127.0.0.1`, `::1`, `0.0.0.0`, a name). */
  host?: string;
  port?: number;
}

/** The request path, parsed once: as sent, as routed (without `/vX.Y`), and the version it named; the query as sent. */
export interface Target {
  path: string;
  routed: string;
  version?: string;
  /** Without the '?'; '' when there is none. */
  query: string;
}

export interface EdgeBindings {
  /** Node's request (@hono/node-server's HttpBindings.incoming); absent for in-process calls. */
  incoming?: IncomingMessage;
  /** Node's response, beside `incoming`: a long list is written to it directly (src/http/respond.ts). */
  outgoing?: ServerResponse;
  /** Set by src/http/listen.ts on every request it serves; absent for in-process calls. */
  listener?: ListenerInfo;
  /** An in-process call made for an outer request (the console's Engine calls): that request's caller. */
  onBehalfOf?: Caller;
  /** Set by the app's entry point before routing (src/http/app.ts). */
  target: Target;
  /** Set there too: logs an answer cut short after its status left (a list whose store read failed), which no status can report. */
  cutShort?: (error: unknown, path: string) => void;
}

/** What one audited route says about what it acted on (src/http/audit.ts). */
export interface AuditNotes {
  secret?: { id?: string; name?: string; ref?: string };
  token?: string;
  /** What a swarm change asked for (autolock, rotations): names and flags, never a key. */
  change?: Record<string, string | boolean>;
  /** What a rotate or rollback changed, by version number. */
  versions?: ValueVersionsChange;
}

export interface EdgeEnv {
  Bindings: EdgeBindings;
  Variables: {
    caller: Caller;
    /** The version the URL named, once the version middleware accepted it. */
    apiVersion: string | undefined;
    /** Set once the version middleware accepted the request: every answer carries dockerd's headers (src/http/respond.ts). */
    engineHeaders: boolean | undefined;
    audit: AuditNotes;
    /** Set by an audited route's middleware when its line follows the route's writes (src/http/audit.ts). */
    writes: WriteOptions | undefined;
  };
}

/** What the app accepts: node-server's bindings plus the listener, or an in-process call's. */
export type FetchHandler = (req: Request, env?: Omit<EdgeBindings, 'target'>) => Response | Promise<Response>;
