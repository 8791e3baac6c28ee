/**
 * GET /nodes?filters=… side by side with a live reference dockerd: every case of the shared
 * table is asked of both, each about its own node; the reference must answer as the table says
 * (so the table is dockerd's behaviour, checked), and secretd the same, or the declared Engine 25
 * answer. Then `docker node ls --filter` through the real CLI against both.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { startDaemon, type Daemon } from '../helpers/daemon.ts';
import { request, type RawResponse } from '../helpers/http.ts';
import { filtersFor, NODE_FILTER_CASES, targetAnswer } from '../helpers/node-filter-cases.ts';
import { dockerCliMissing, referenceDockerd } from '../helpers/tools.ts';

const ref = referenceDockerd();
const skip = 'skip' in ref ? ref.skip : false;
const cliSkip = skip || dockerCliMissing();

let daemon: Daemon;
before(async () => {
  if (!skip) daemon = await startDaemon({ args: ['--log-level', 'warn'] });
});
after(async () => daemon?.dispose());

interface Side {
  host: string;
  prefix: string;
}
const sides = (): { ref: Side; target: Side } => ({
  ref: { host: (ref as { host: string }).host, prefix: '/v1.41' },
  target: { host: daemon.host, prefix: '/v1.44' },
});
const nodes = (s: Side, filters: string): Promise<RawResponse> =>
  request(s.host, { path: `${s.prefix}/nodes${filters === '' ? '' : `?filters=${encodeURIComponent(filters)}`}` });

async function ownNode(s: Side): Promise<{ hostname: string; id: string }> {
  const all = (await nodes(s, '')).json;
  assert.equal(all.length, 1, `a one-node swarm at ${s.host}`);
  return { hostname: all[0].Description.Hostname, id: all[0].ID };
}

/** Status, then the count of nodes (and that it is the node itself) or the message. */
function assertAnswer(res: RawResponse, want: { status: number; message?: string; count?: number }, node: { id: string }, who: string) {
  assert.equal(res.status, want.status, `${who}: ${res.text}`);
  if (want.count === undefined) return assert.deepEqual(res.json, { message: want.message }, who);
  assert.deepEqual(
    (res.json as { ID: string }[]).map((n) => n.ID),
    want.count === 1 ? [node.id] : [],
    who,
  );
}

describe('GET /nodes filters against the reference dockerd', { skip }, () => {
  for (const c of NODE_FILTER_CASES) {
    test(c.title, async () => {
      const { ref: r, target: t } = sides();
      const [refNode, targetNode] = [await ownNode(r), await ownNode(t)];
      const refWant = c.error ?? { status: 200, count: c.count };
      assertAnswer(await nodes(r, filtersFor(c, refNode)), refWant, refNode, 'reference dockerd');
      assertAnswer(await nodes(t, filtersFor(c, targetNode)), targetAnswer(c), targetNode, 'secretd');
    });
  }
});

describe('docker node ls --filter against both', { skip: cliSkip }, () => {
  const ls = (host: string, ...filters: string[]) =>
    spawnSync('docker', ['-H', host, 'node', 'ls', '-q', ...filters.flatMap((f) => ['--filter', f])], { encoding: 'utf8', timeout: 30_000 });

  test('the same nodes for the same filters, and the same refusal of an unknown key', async () => {
    const { ref: r, target: t } = sides();
    const own = { ref: await ownNode(r), target: await ownNode(t) };
    const filterSets = (n: { hostname: string; id: string }) => [
      [],
      ['role=manager'],
      ['role=worker'],
      ['membership=accepted'],
      [`name=${n.hostname.slice(0, 1)}`],
      [`id=${n.id.slice(0, 6)}`, 'role=manager'],
      ['node.label=secretd-test-none'],
    ];
    const refSets = filterSets(own.ref);
    const targetSets = filterSets(own.target);
    for (let i = 0; i < refSets.length; i++) {
      const a = ls(r.host, ...refSets[i]!);
      const b = ls(t.host, ...targetSets[i]!);
      assert.equal(a.status, 0, a.stderr);
      assert.equal(b.status, 0, b.stderr);
      const count = (out: string) => out.split('\n').filter(Boolean).length;
      assert.equal(count(b.stdout), count(a.stdout), `${targetSets[i]!.join(' ')}: ${a.stdout} vs ${b.stdout}`);
    }
    const a = ls(r.host, 'bogus=x');
    const b = ls(t.host, 'bogus=x');
    assert.notEqual(a.status, 0);
    assert.notEqual(b.status, 0);
    assert.equal(b.stderr.trim().toLowerCase(), a.stderr.trim().toLowerCase());
  });
});
