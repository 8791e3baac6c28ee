/** The frame of every console page: head, navigation, one notice or error, the page's content. */
import type { Child, FC } from 'hono/jsx';

export interface PageError {
  /** The HTTP status the page is answered with (the Engine's, for its refusals). */
  status: number;
  message: string;
}

export interface LayoutProps {
  title: string;
  /** A notice after a successful change ("Secret created"). */
  notice?: string | undefined;
  error?: PageError | undefined;
  children?: Child;
}

export const Layout: FC<LayoutProps> = ({ title, notice, error, children }) => (
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <title>{`${title} · secretd`}</title>
      <link rel="stylesheet" href="/ui/style.css" />
    </head>
    <body>
      <header>
        <a class="brand" href="/ui">
          secretd
        </a>
        <nav>
          <a href="/ui">Secrets</a>
          <a href="/ui/new">New secret</a>
        </nav>
      </header>
      <main>
        <h1>{title}</h1>
        {notice ? (
          <p class="notice" role="status">
            {notice}
          </p>
        ) : null}
        {error ? <ErrorBox error={error} /> : null}
        {children}
      </main>
    </body>
  </html>
);

/** dockerd's message, verbatim, as the docker CLI shows it. */
export const ErrorBox: FC<{ error: PageError }> = ({ error }) => (
  <div class="error" role="alert">
    <strong>{`Error ${error.status}`}</strong> <span class="message">{error.message}</span>
  </div>
);
