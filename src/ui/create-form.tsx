/**
 * The create page: one tab per kind of secret (a link, no script), the kind's value fields,
 * then what every secret has: name, labels, driver with options, templating driver. After a
 * refusal the form comes back with the name, labels and driver choices, never the value.
 */
import type { FC } from 'hono/jsx';
import { KINDS, type KindInfo } from './kinds.ts';
import { Layout, type PageError } from './layout.tsx';

/** What the form is refilled with after a refusal: everything but the value. */
export interface CreateDraft {
  name: string;
  labels: string;
  driver: string;
  driverOptions: string;
  templating: string;
  registry: string;
}

export const EMPTY_DRAFT: CreateDraft = { name: '', labels: '', driver: '', driverOptions: '', templating: '', registry: '' };

export interface CreateProps {
  info: KindInfo;
  csrf: string;
  secretDrivers: readonly string[];
  templatingDrivers: readonly string[];
  draft: CreateDraft;
  error?: PageError | undefined;
}

export const CreatePage: FC<CreateProps> = ({ info, csrf, secretDrivers, templatingDrivers, draft, error }) => (
  <Layout title="New secret" error={error}>
    <nav class="tabs" aria-label="kind of secret">
      {KINDS.map((k) => (
        <a href={`/ui/new?kind=${k.kind}`} class={k.kind === info.kind ? 'tab current' : 'tab'} aria-current={k.kind === info.kind ? 'page' : undefined}>
          {k.title}
        </a>
      ))}
    </nav>
    <form method="post" action="/ui/new" enctype="multipart/form-data" autocomplete="off">
      <input type="hidden" name="csrf" value={csrf} />
      <input type="hidden" name="kind" value={info.kind} />
      <p class="hint">{`Stores ${info.stores}.`}</p>
      <label>
        Name <input type="text" name="name" value={draft.name} required maxlength={64} placeholder="db_password" />
      </label>
      <ValueFields info={info} draft={draft} />
      <label>
        Labels
        <textarea name="labels" rows={3} placeholder={'env=prod\nteam=core'}>
          {draft.labels}
        </textarea>
        <small>One KEY=VALUE a line.</small>
      </label>
      <fieldset>
        <legend>Drivers (optional)</legend>
        <label>
          Driver
          <select name="driver">
            <option value="">none: the value above is stored, sealed</option>
            {secretDrivers.map((d) => (
              <option value={d} selected={d === draft.driver}>
                {d}
              </option>
            ))}
          </select>
          <small>A driver supplies the value when it is delivered; the value field may then stay empty.</small>
        </label>
        <label>
          Driver options
          <textarea name="driver_options" rows={2} placeholder="name=DB_PASSWORD">
            {draft.driverOptions}
          </textarea>
        </label>
        <label>
          Templating driver
          <select name="templating">
            <option value="">none</option>
            {templatingDrivers.map((d) => (
              <option value={d} selected={d === draft.templating}>
                {d}
              </option>
            ))}
          </select>
        </label>
      </fieldset>
      <button type="submit">Create secret</button>
    </form>
  </Layout>
);

/** The value fields of one kind; the rotate form shows them too (src/ui/rotate-form.tsx). */
export const ValueFields: FC<{ info: KindInfo; draft: CreateDraft }> = ({ info, draft }) => {
  switch (info.kind) {
    case 'kv':
      return (
        <label>
          Key/value pairs
          <textarea name="pairs" rows={5} placeholder={'user=app\nport=5432'} />
          <small>One KEY=VALUE a line; stored as a JSON object.</small>
        </label>
      );
    case 'file':
      return (
        <label>
          File <input type="file" name="file" />
          <small>Up to 500 KiB, stored byte for byte.</small>
        </label>
      );
    case 'tls':
      return (
        <>
          <label>
            Certificate (PEM)
            <textarea name="cert" rows={6} class="pem" placeholder="-----BEGIN CERTIFICATE-----" />
            <small>The server certificate first, then any intermediates.</small>
          </label>
          <label>
            Private key (PEM)
            <textarea name="key" rows={6} class="pem" placeholder="-----BEGIN PRIVATE KEY-----" />
            <small>Unencrypted; it must match the certificate.</small>
          </label>
        </>
      );
    case 'registry':
      return (
        <>
          <label>
            Registry <input type="text" name="registry" value={draft.registry || 'https://index.docker.io/v1/'} />
          </label>
          <Credentials />
        </>
      );
    case 'basic-auth':
      return <Credentials />;
    default:
      return (
        <label>
          Value
          <textarea name="value" rows={4} />
          <small>Stored as typed, with line breaks as LF and no newline added; upload a file for other bytes.</small>
        </label>
      );
  }
};

/** Username and password fields: registry credentials and basic auth ask for both. */
function Credentials() {
  return (
    <>
      <label>
        Username <input type="text" name="username" />
      </label>
      <label>
        Password <input type="password" name="password" autocomplete="new-password" />
      </label>
    </>
  );
}
