/** The five secret endpoints: parse and validate the request, call the domain, shape the answer. */
import type { Hono } from 'hono';
import type { SchemaRegistry } from '../../schemas.ts';
import { InvalidRequest } from '../../core/errors.ts';
import { parseFilters } from '../../secrets/filters.ts';
import type { SecretsService } from '../../secrets/service.ts';
import { compareVersions, TEMPLATING_MIN_API } from '../../version.ts';
import { apiVersion, requestedVersion } from '../api-version.ts';
import { noteSecret, type Audited } from '../audit.ts';
import type { EdgeEnv } from '../env.ts';
import { formValue, parseForm } from '../form.ts';
import { readSecretSpec } from '../decode.ts';
import { empty, json, jsonPieces, jsonText } from '../respond.ts';

const MAX_UINT64 = 18446744073709551615n;

export function secretRoutes(app: Hono<EdgeEnv>, secrets: SecretsService, schemas: SchemaRegistry, audited: Audited): void {
  const v = apiVersion();

  app.get('/secrets', v, async (c) => {
    parseForm(c);
    return jsonPieces(c, await secrets.listJson(formValue(c, 'filters'), (raw) => parseFilters(raw, schemas)));
  });

  app.post('/secrets/create', audited('secret.create'), v, async (c) => {
    const spec = await readSecretSpec(c, schemas);
    noteSecret(c, { name: spec.name });
    const version = requestedVersion(c);
    if (spec.templating && compareVersions(version, TEMPLATING_MIN_API) < 0) {
      throw new InvalidRequest(`secret templating is not supported on the specified API version: ${version}`);
    }
    const id = await secrets.create(spec, c.get('writes'));
    noteSecret(c, { id });
    return json(c, { ID: id }, 201);
  });

  app.get('/secrets/:id', v, async (c) => jsonText(c, await secrets.inspectJson(c.req.param('id'))));

  app.delete('/secrets/:id', audited('secret.remove', 'id'), v, async (c) => {
    noteSecret(c, await secrets.remove(c.req.param('id'), c.get('writes')));
    return empty(c, 204);
  });

  app.post('/secrets/:id/update', audited('secret.update', 'id'), v, async (c) => {
    const spec = await readSecretSpec(c, schemas); // dockerd reads the body before the version
    noteSecret(c, await secrets.update(c.req.param('id'), parseVersion(formValue(c, 'version'), schemas), spec, c.get('writes')));
    return empty(c);
  });
}

/** strconv.ParseUint(version, 10, 64), or dockerd's "invalid secret version". */
function parseVersion(raw: string | undefined, schemas: SchemaRegistry): number {
  if (!schemas.validator('secret-update-query.json')({ version: raw }) || BigInt(raw!) > MAX_UINT64) {
    throw new InvalidRequest('invalid secret version');
  }
  // Beyond 2^53 no stored version can match: the compare-and-set then fails as out of sequence.
  return Math.min(Number(raw), Number.MAX_SAFE_INTEGER);
}
