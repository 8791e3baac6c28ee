/**
 * The benchmark's ceilings: a bare `node:http` server that answers the five benchmarked calls
 * from a Map — no validation, no crypto, no audit — so secretd can be measured against what
 * Node itself allows on this machine. With `--durable FILE` every write is also appended to
 * FILE, and the answers of one event-loop batch leave only after one `fdatasync` covering the
 * batch: the cheapest honest durability, the ceiling for secretd's writes.
 *
 *   node --import tsx test/bench/ceiling-server.ts SOCKET [--durable FILE]
 *
 * Prints `listening` once the socket accepts. Only what the bench sends is served.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fdatasync, openSync, writeSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

interface Stored {
  ID: string;
  Version: { Index: number };
  CreatedAt: string;
  UpdatedAt: string;
  Spec: { Name: string; Labels: Record<string, string>; Data?: string };
}

const [socket, flag, journal] = process.argv.slice(2);
if (!socket || (flag !== undefined && (flag !== '--durable' || !journal))) {
  process.stderr.write('usage: ceiling-server.ts SOCKET [--durable FILE]\n');
  process.exit(2);
}

const byId = new Map<string, Stored>();
const byName = new Map<string, Stored>();
let version = 0;

// Durability: appends go to the file at once; answers wait for the batch's one fdatasync.
const fd = journal ? openSync(journal, 'a', 0o600) : undefined;
let waiting: (() => void)[] = [];
let syncing = false;

function durably(record: unknown, answer: () => void): void {
  if (fd === undefined) {
    answer();
    return;
  }
  writeSync(fd, `${JSON.stringify(record)}\n`);
  waiting.push(answer);
  if (!syncing) {
    syncing = true;
    setImmediate(flush);
  }
}

function flush(): void {
  const batch = waiting;
  waiting = [];
  fdatasync(fd!, (err) => {
    if (err) throw err;
    for (const answer of batch) answer();
    if (waiting.length > 0) setImmediate(flush);
    else syncing = false;
  });
}

function send(res: ServerResponse, status: number, body?: unknown): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), 'Api-Version': '1.44' });
  res.end(text);
}

function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        resolve(chunks.length === 0 ? {} : (JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown>));
      } catch (e) {
        reject(e);
      }
    });
    req.on('error', reject);
  });
}

/** The name and label filters the bench sends (`name` matches a prefix, as dockerd's does). */
function list(query: URLSearchParams): Stored[] {
  const filters = JSON.parse(query.get('filters') ?? '{}') as Record<string, Record<string, boolean>>;
  const names = Object.keys(filters['name'] ?? {});
  const labels = Object.keys(filters['label'] ?? {}).map((l) => l.split('='));
  const pool = names.length === 1 && byName.has(names[0]!) ? [byName.get(names[0]!)!] : [...byId.values()];
  return pool.filter((s) => (names.length === 0 || names.some((n) => s.Spec.Name.startsWith(n))) && labels.every(([k, v]) => s.Spec.Labels[k!] === v));
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://ceiling');
  const path = url.pathname.replace(/^\/v\d+\.\d+/, '');
  const now = new Date().toISOString();
  if (req.method === 'GET' && path === '/version') return send(res, 200, { Version: 'ceiling', ApiVersion: '1.44' });
  if (req.method === 'GET' && path === '/info') return send(res, 200, { Swarm: { LocalNodeState: 'active' } });
  if (req.method === 'POST' && path === '/secrets/create') {
    const spec = (await readJson(req)) as unknown as Stored['Spec'];
    if (byName.has(spec.Name)) return send(res, 409, { message: 'name conflicts with an existing object' });
    const s: Stored = { ID: randomBytes(13).toString('hex').slice(0, 25), Version: { Index: ++version }, CreatedAt: now, UpdatedAt: now, Spec: spec };
    byId.set(s.ID, s);
    byName.set(spec.Name, s);
    return durably({ op: 'create', s }, () => send(res, 201, { ID: s.ID }));
  }
  if (req.method === 'GET' && path === '/secrets')
    return send(
      res,
      200,
      list(url.searchParams).map(({ Spec: { Data: _, ...spec }, ...s }) => ({ ...s, Spec: spec })),
    );
  const m = /^\/secrets\/([^/]+)(\/update)?$/.exec(path);
  const key = m ? decodeURIComponent(m[1]!) : '';
  const s = byId.get(key) ?? byName.get(key);
  if (!m || !s) return send(res, 404, { message: `secret ${key} not found` });
  if (req.method === 'GET' && !m[2]) {
    const { Data: _, ...spec } = s.Spec;
    return send(res, 200, { ...s, Spec: spec });
  }
  if (req.method === 'POST' && m[2]) {
    const spec = (await readJson(req)) as unknown as Stored['Spec'];
    if (Number(url.searchParams.get('version')) !== s.Version.Index) return send(res, 500, { message: 'update out of sequence' });
    s.Spec = { ...s.Spec, Labels: spec.Labels };
    s.Version = { Index: ++version };
    s.UpdatedAt = now;
    return durably({ op: 'update', id: s.ID, labels: spec.Labels }, () => send(res, 200));
  }
  if (req.method === 'DELETE' && !m[2]) {
    byId.delete(s.ID);
    byName.delete(s.Spec.Name);
    return durably({ op: 'delete', id: s.ID }, () => send(res, 204));
  }
  send(res, 404, { message: 'page not found' });
}

const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
  handle(req, res).catch((e: unknown) => send(res, 400, { message: String(e) }));
});
server.listen(socket, () => process.stdout.write('listening\n'));
process.on('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  if (fd !== undefined) closeSync(fd);
  process.exit(0);
});
