/** The confirmation step of a delete: the form that really deletes, and a way back. */
import type { FC } from 'hono/jsx';
import type { SecretView } from '../secrets/types.ts';
import { Layout, type PageError } from './layout.tsx';

export const ConfirmDeletePage: FC<{ secret: SecretView; csrf: string; error?: PageError | undefined }> = ({ secret, csrf, error }) => (
  <Layout title={`Delete ${secret.Spec.Name}?`} error={error}>
    <p>
      The secret <strong>{secret.Spec.Name}</strong> (<code>{secret.ID}</code>) and its value will be removed for good. Services and consumers that read it will
      no longer get it.
    </p>
    <form method="post" action={`/ui/secrets/${secret.ID}/delete`} class="confirm">
      <input type="hidden" name="csrf" value={csrf} />
      <button type="submit" class="danger">
        Delete for good
      </button>
      <a href={`/ui/secrets/${secret.ID}`}>Cancel</a>
    </form>
  </Layout>
);
