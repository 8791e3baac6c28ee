/** The list page: secrets by name, with a name search and label filters (the Engine's `label` filter). */
import type { FC } from 'hono/jsx';
import type { SecretView } from '../secrets/types.ts';
import { TYPE_LABEL } from './kinds.ts';
import { LabelChips } from './labels.tsx';
import { Layout, type PageError } from './layout.tsx';

export interface ListProps {
  secrets: readonly SecretView[];
  search: string;
  labels: readonly string[];
  notice?: string | undefined;
  error?: PageError | undefined;
}

export const ListPage: FC<ListProps> = ({ secrets, search, labels, notice, error }) => (
  <Layout title="Secrets" notice={notice} error={error}>
    <form class="filters" method="get" action="/ui">
      <label>
        Search names <input type="search" name="q" value={search} placeholder="part of a name" />
      </label>
      <label>
        Label filter <input type="text" name="label" value={labels.join(' ')} placeholder="key or key=value, several separated by spaces" />
      </label>
      <button type="submit">Filter</button>
      {search || labels.length > 0 ? <a href="/ui">Clear</a> : null}
    </form>
    <p class="count">{`${secrets.length} ${secrets.length === 1 ? 'secret' : 'secrets'}`}</p>
    {secrets.length === 0 ? (
      <p class="empty">
        No secrets{search || labels.length > 0 ? ' match' : ' yet'}. <a href="/ui/new">Create one</a>.
      </p>
    ) : (
      <table class="secrets">
        <thead>
          <tr>
            <th>Name</th>
            <th>Type</th>
            <th>Labels</th>
            <th>Driver</th>
            <th>Updated</th>
          </tr>
        </thead>
        <tbody>
          {secrets.map((s) => (
            <tr>
              <td>
                <a href={`/ui/secrets/${s.ID}`}>{s.Spec.Name}</a>
              </td>
              <td>{s.Spec.Labels[TYPE_LABEL] ?? 'opaque'}</td>
              <td>
                <LabelChips labels={s.Spec.Labels} />
              </td>
              <td>{[s.Spec.Driver?.Name, s.Spec.Templating?.Name && `template: ${s.Spec.Templating.Name}`].filter(Boolean).join(', ')}</td>
              <td>
                <time datetime={s.UpdatedAt}>{shortTime(s.UpdatedAt)}</time>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    )}
  </Layout>
);

/** RFC 3339 with nanoseconds → "2024-05-01 12:34:56 UTC". */
export function shortTime(t: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})/.exec(t);
  return m ? `${m[1]} ${m[2]} UTC` : t;
}
