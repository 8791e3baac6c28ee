/** A page that only explains a refusal: a forbidden request, a missing secret, a body too large. */
import type { FC } from 'hono/jsx';
import { Layout, type PageError } from './layout.tsx';

export const MessagePage: FC<{ title: string; error: PageError }> = ({ title, error }) => (
  <Layout title={title} error={error}>
    <p>
      <a href="/ui">Back to the secrets</a>
    </p>
  </Layout>
);
