/**
 * GET /nodes?filters=… through the real app in-process: every case of the shared table
 * (test/helpers/node-filter-cases.ts, which the live test also plays against dockerd), and
 * dockerd's order of checks on a node out of swarm.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openTestCore, type CoreHandle } from '../helpers/core.ts';
import { filtersFor, NODE_FILTER_CASES, targetAnswer } from '../helpers/node-filter-cases.ts';

let api: CoreHandle;
let outOfSwarm: CoreHandle;
before(async () => {
  api = await openTestCore();
  outOfSwarm = await openTestCore({ swarmInit: false });
});
after(async () => {
  await api.dispose();
  await outOfSwarm.dispose();
});

const list = (h: CoreHandle, filters: string) => h.call('GET', `/v1.44/nodes${filters === '' ? '' : `?filters=${encodeURIComponent(filters)}`}`);

describe('GET /nodes filters', () => {
  for (const c of NODE_FILTER_CASES) {
    test(c.title, async () => {
      const node = (await list(api, '')).json[0];
      const res = await list(api, filtersFor(c, { hostname: node.Description.Hostname, id: node.ID }));
      const want = targetAnswer(c);
      assert.equal(res.status, want.status, res.text);
      if (want.count !== undefined) {
        assert.equal(res.json.length, want.count, res.text);
        if (want.count === 1) assert.equal(res.json[0].ID, node.ID);
      } else assert.deepEqual(res.json, { message: want.message });
    });
  }
});

describe('GET /nodes out of swarm, in dockerd order', () => {
  test('malformed filters are a 400 before the 503', async () => {
    const res = await list(outOfSwarm, '{bad');
    assert.equal(res.status, 400);
    assert.equal(res.json.message, 'invalid filter');
  });

  test('an unknown key or a bad role comes after the 503', async () => {
    for (const filters of ['{"bogus":["x"]}', '{"role":["boss"]}', '']) {
      const res = await list(outOfSwarm, filters);
      assert.equal(res.status, 503, filters);
      assert.match(res.json.message, /^This node is not a swarm manager\./);
    }
  });
});
