/**
 * A secret's value versions on its page: number, when it was stored, which one is current —
 * never a value (the versions route has none to give) — and a rollback form for each other one,
 * sent with the record version the page showed, so a stale page is refused.
 */
import type { FC } from 'hono/jsx';
import type { SecretView } from '../secrets/types.ts';
import type { ValueVersionView } from './engine.ts';
import { ErrorBox, type PageError } from './layout.tsx';
import { shortTime } from './list.tsx';

export interface VersionsProps {
  secret: SecretView;
  /** The kept versions, or why they could not be listed. */
  versions: readonly ValueVersionView[] | PageError;
  csrf: string;
}

export const VersionsTable: FC<VersionsProps> = ({ secret, versions, csrf }) => {
  if (!Array.isArray(versions)) return <ErrorBox error={versions as PageError} />;
  const kept = versions as readonly ValueVersionView[];
  if (kept.length === 0) return <p class="hint">No versions are kept for this secret.</p>;
  return (
    <table class="secrets versions">
      <thead>
        <tr>
          <th>Version</th>
          <th>Created</th>
          <th>Current</th>
          <th>Rollback</th>
        </tr>
      </thead>
      <tbody>
        {kept.map((v) => (
          <tr class={v.Current ? 'current' : undefined}>
            <td>{String(v.Version)}</td>
            <td>
              <time datetime={v.CreatedAt}>{shortTime(v.CreatedAt)}</time>
            </td>
            <td>{v.Current ? 'current' : ''}</td>
            <td>
              {v.Current ? null : (
                <form method="post" action={`/ui/secrets/${secret.ID}/versions/${v.Version}/rollback`} class="inline">
                  <input type="hidden" name="csrf" value={csrf} />
                  <input type="hidden" name="version" value={String(secret.Version.Index)} />
                  <button type="submit">{`Roll back to version ${v.Version}`}</button>
                </form>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
};
