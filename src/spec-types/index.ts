/** Generated from spec/ by `npm run gen:types` (tools/gen-spec-types.ts): the type each schema describes, by $id. */
import type { ComposeSecrets } from './compose-secrets.ts';
import type { DaemonConfig } from './config.ts';
import type { DeliveryContext } from './delivery-context.ts';
import type { NodeListFilters } from './node-list-query.ts';
import type { SecretsProviderRequest } from './plugin-get-secret.ts';
import type { VolumeDriverRequest } from './plugin-volume.ts';
import type { SecretListFilters } from './secret-list-query.ts';
import type { SecretRollbackPath } from './secret-rollback.ts';
import type { SecretRotateRequest } from './secret-rotate.ts';
import type { SecretSpec } from './secret-spec.ts';
import type { SecretUpdateQuery } from './secret-update-query.ts';
import type { InitRequest } from './swarm-init.ts';
import type { Spec } from './swarm-spec.ts';
import type { UnlockRequest } from './swarm-unlock.ts';
import type { TokenCreateRequest } from './token-create.ts';

export interface SpecTypes {
  'compose-secrets.json': ComposeSecrets;
  'config.json': DaemonConfig;
  'delivery-context.json': DeliveryContext;
  'node-list-query.json': NodeListFilters;
  'plugin-get-secret.json': SecretsProviderRequest;
  'plugin-volume.json': VolumeDriverRequest;
  'secret-list-query.json': SecretListFilters;
  'secret-rollback.json': SecretRollbackPath;
  'secret-rotate.json': SecretRotateRequest;
  'secret-spec.json': SecretSpec;
  'secret-update-query.json': SecretUpdateQuery;
  'swarm-init.json': InitRequest;
  'swarm-spec.json': Spec;
  'swarm-unlock.json': UnlockRequest;
  'token-create.json': TokenCreateRequest;
}

export type SpecId = keyof SpecTypes;
