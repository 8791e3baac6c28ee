/**
 * A secret's page: its metadata and labels (never its value), its value versions with rollback,
 * the rotate form (not for a driver's secret: the driver has the value), the label editor, the
 * way to delete.
 */
import type { FC } from 'hono/jsx';
import type { SecretView } from '../secrets/types.ts';
import type { ValueVersionView } from './engine.ts';
import { kindOfLabels, TYPE_LABEL } from './kinds.ts';
import { LabelChips } from './labels.tsx';
import { Layout, type PageError } from './layout.tsx';
import { shortTime } from './list.tsx';
import { formatPairs } from './pairs.ts';
import { RotateForm } from './rotate-form.tsx';
import type { RotateSource } from './rotation.ts';
import { VersionsTable } from './versions.tsx';

export interface DetailProps {
  secret: SecretView;
  /** The kept value versions, or why they could not be listed. */
  versions: readonly ValueVersionView[] | PageError;
  /** The rotate form's tab. */
  source: RotateSource;
  csrf: string;
  notice?: string | undefined;
  error?: PageError | undefined;
}

export const DetailPage: FC<DetailProps> = ({ secret, versions, source, csrf, notice, error }) => {
  const { Spec: spec } = secret;
  const driver = spec.Driver?.Name;
  return (
    <Layout title={spec.Name} notice={notice} error={error}>
      <dl class="meta">
        <dt>ID</dt>
        <dd>
          <code>{secret.ID}</code>
        </dd>
        <dt>Type</dt>
        <dd>{spec.Labels[TYPE_LABEL] ?? 'opaque'}</dd>
        <dt>Version</dt>
        <dd>{String(secret.Version.Index)}</dd>
        <dt>Created</dt>
        <dd>
          <time datetime={secret.CreatedAt}>{shortTime(secret.CreatedAt)}</time>
        </dd>
        <dt>Updated</dt>
        <dd>
          <time datetime={secret.UpdatedAt}>{shortTime(secret.UpdatedAt)}</time>
        </dd>
        <dt>Driver</dt>
        <dd>{spec.Driver?.Name ? `${spec.Driver.Name}${options(spec.Driver.Options)}` : 'none (value stored, sealed)'}</dd>
        <dt>Templating</dt>
        <dd>{spec.Templating?.Name ?? 'none'}</dd>
        <dt>Labels</dt>
        <dd>{Object.keys(spec.Labels).length > 0 ? <LabelChips labels={spec.Labels} /> : 'none'}</dd>
      </dl>
      <p class="hint">The value is never shown: the Engine API does not return it.</p>

      <h2 id="versions">Value versions</h2>
      {driver ? (
        <p class="hint">{`The value comes from driver ${driver} each time it is delivered, so secretd keeps no versions of it: rotate it there.`}</p>
      ) : (
        <>
          <VersionsTable secret={secret} versions={versions} csrf={csrf} />
          <h2 id="rotate">Rotate the value</h2>
          <RotateForm secret={secret} kind={kindOfLabels(spec.Labels)} source={source} csrf={csrf} />
        </>
      )}

      <h2>Edit labels</h2>
      <form method="post" action={`/ui/secrets/${secret.ID}/labels`}>
        <input type="hidden" name="csrf" value={csrf} />
        <input type="hidden" name="version" value={String(secret.Version.Index)} />
        <label>
          Labels
          <textarea name="labels" rows={Math.max(3, Object.keys(spec.Labels).length + 1)}>
            {formatPairs(spec.Labels)}
          </textarea>
          <small>{`One KEY=VALUE a line. Saved only if nobody changed the secret since version ${secret.Version.Index}.`}</small>
        </label>
        <button type="submit">Save labels</button>
      </form>

      <h2>Delete</h2>
      <p>
        <a class="button danger" href={`/ui/secrets/${secret.ID}/delete`}>
          Delete this secret…
        </a>
      </p>
    </Layout>
  );
};

function options(o: Record<string, string> | undefined): string {
  if (!o || Object.keys(o).length === 0) return '';
  return ` (${Object.entries(o)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ')})`;
}
