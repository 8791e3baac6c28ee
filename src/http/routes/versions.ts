/**
 * secretd's rotation endpoints, beside the Engine API (docs/rotation.md): a secret's value
 * versions, a new version (rotate), a rollback, and the removed secrets a --recovery-window
 * keeps. Administration only (src/http/admin.ts), the console's calls included for versions. The Engine API's own secret routes are
 * untouched: there a secret's data stays immutable, as in Swarm.
 */
import type { Hono } from 'hono';
import { decodeBase64 } from '../../secrets/base64.ts';
import { InvalidRequest } from '../../core/errors.ts';
import { generateValue } from '../../secrets/generate.ts';
import type { Recovery } from '../../secrets/recovery.ts';
import type { SecretVersions } from '../../secrets/versions.ts';
import type { SchemaRegistry } from '../../schemas.ts';
import { adminOnly } from '../admin.ts';
import { noteSecret, noteVersions, type Audited } from '../audit.ts';
import { readJsonBody } from '../body.ts';
import { checkedBody } from '../checked-body.ts';
import type { EdgeEnv } from '../env.ts';
import { empty, json } from '../respond.ts';
import { DELIVERY_PREFIX } from './delivery.ts';

export function versionRoutes(app: Hono<EdgeEnv>, versions: SecretVersions, recovery: Recovery, schemas: SchemaRegistry, audited: Audited): void {
  // The web console lists, rotates and rolls back too (docs/console.md); see AdminOptions.console.
  const admin = adminOnly('secret versions', { console: true });
  const base = `${DELIVERY_PREFIX}/secrets/:id/versions`;

  app.get(base, admin, async (c) => {
    const { versions: kept } = await versions.list(c.req.param('id'));
    return json(
      c,
      kept.map((v) => ({ Version: v.version, CreatedAt: v.createdAt, Current: v.current })),
    );
  });

  app.post(base, audited('secret.rotate', 'id'), admin, async (c) => {
    const body = checkedBody(schemas, 'secret-rotate.json', await readJsonBody(c));
    const value = body.Generate ? generateValue(body.Generate) : decodeBase64(body.Data!);
    try {
      const r = await versions.rotate(c.req.param('id'), value, (s) => noteSecret(c, s), c.get('writes'));
      noteVersions(c, { version: r.version, previous: r.previous, ...(r.dropped.length > 0 ? { dropped: r.dropped } : {}) });
      return json(c, { ID: r.secret.id, Version: r.version, Previous: r.previous, Dropped: r.dropped }, 201);
    } finally {
      value.fill(0);
    }
  });

  app.post(`${base}/:version/rollback`, audited('secret.rollback', 'id'), admin, async (c) => {
    const text = c.req.param('version');
    if (!schemas.validator('secret-rollback.json')(text))
      throw new InvalidRequest(`invalid version ${JSON.stringify(text)}: a version is a whole number from 1`);
    const r = await versions.rollback(c.req.param('id'), Number(text), (s) => noteSecret(c, s), c.get('writes'));
    noteVersions(c, { version: r.version, previous: r.previous });
    return json(c, { ID: r.secret.id, Version: r.version, Previous: r.previous });
  });

  const removed = `${DELIVERY_PREFIX}/removed-secrets`;
  const removedAdmin = adminOnly('removed secrets');

  app.get(removed, removedAdmin, async (c) => json(c, await recovery.list()));

  app.post(`${removed}/:id/restore`, audited('secret.restore', 'id'), removedAdmin, async (c) => {
    const s = await recovery.restore(c.req.param('id'), (acted) => noteSecret(c, acted));
    return json(c, { ID: s.id, Name: s.name });
  });

  app.delete(`${removed}/:id`, audited('secret.purge', 'id'), removedAdmin, async (c) => {
    await recovery.purge(c.req.param('id'), (acted) => noteSecret(c, acted));
    return empty(c, 204);
  });
}
