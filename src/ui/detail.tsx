/** A secret's page: its metadata and labels (never its value), the label editor, the way to delete. */
import type { FC } from 'hono/jsx';
import type { SecretView } from '../secrets/types.ts';
import { TYPE_LABEL } from './kinds.ts';
import { LabelChips } from './labels.tsx';
import { Layout, type PageError } from './layout.tsx';
import { shortTime } from './list.tsx';
import { formatPairs } from './pairs.ts';

export interface DetailProps {
  secret: SecretView;
  csrf: string;
  notice?: string | undefined;
  error?: PageError | undefined;
}

export const DetailPage: FC<DetailProps> = ({ secret, csrf, notice, error }) => {
  const { Spec: spec } = secret;
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
