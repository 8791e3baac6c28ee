/**
 * The rotate form on a secret's page: one tab per source of the new value (a link, no script) —
 * the fields of the secret's kind as the create form has them, an upload, or a generated value —
 * sent with the record version the page showed. It never holds a value: after a refusal its
 * fields come back empty.
 */
import type { FC } from 'hono/jsx';
import { MAX_GENERATED_LENGTH, MIN_GENERATED_LENGTH } from '../secrets/generate.ts';
import type { SecretView } from '../secrets/types.ts';
import { EMPTY_DRAFT, ValueFields } from './create-form.tsx';
import type { KindInfo } from './kinds.ts';
import { DEFAULT_GENERATED_LENGTH, GENERATE_CLASSES, ROTATE_SOURCES, sourcesFor, type RotateSource } from './rotation.ts';

export interface RotateProps {
  secret: SecretView;
  kind: KindInfo;
  source: RotateSource;
  csrf: string;
}

export const RotateForm: FC<RotateProps> = ({ secret, kind, source, csrf }) => {
  const offered = sourcesFor(kind);
  return (
    <>
      {offered.length > 1 ? (
        <nav class="tabs" aria-label="where the new value comes from">
          {ROTATE_SOURCES.filter((s) => offered.includes(s.source)).map((s) => (
            <a
              href={`/ui/secrets/${secret.ID}?rotate=${s.source}#rotate`}
              class={s.source === source ? 'tab current' : 'tab'}
              aria-current={s.source === source ? 'page' : undefined}
            >
              {s.title}
            </a>
          ))}
        </nav>
      ) : (
        <p class="hint">{`A ${kind.title} secret: the new value is checked as when it was created, and keeps its type.`}</p>
      )}
      <form method="post" action={`/ui/secrets/${secret.ID}/rotate`} enctype="multipart/form-data" autocomplete="off">
        <input type="hidden" name="csrf" value={csrf} />
        <input type="hidden" name="version" value={String(secret.Version.Index)} />
        <input type="hidden" name="source" value={source} />
        <SourceFields kind={kind} source={source} />
        <small class="hint">
          {`Stored as a new version and made current, only if nobody changed the secret since version ${secret.Version.Index}. ` +
            'Services and consumers get it on their next read.'}
        </small>
        <button type="submit">Rotate</button>
      </form>
    </>
  );
};

const SourceFields: FC<{ kind: KindInfo; source: RotateSource }> = ({ kind, source }) => {
  switch (source) {
    case 'file':
      return (
        <label>
          New value from a file <input type="file" name="file" />
          <small>Up to 500 KiB, stored byte for byte.</small>
        </label>
      );
    case 'generate':
      return (
        <>
          <label>
            Length <input type="number" name="length" value={String(DEFAULT_GENERATED_LENGTH)} min={MIN_GENERATED_LENGTH} max={MAX_GENERATED_LENGTH} required />
            <small>{`${MIN_GENERATED_LENGTH} to ${MAX_GENERATED_LENGTH} characters, drawn by the daemon; the value is never shown.`}</small>
          </label>
          <fieldset class="classes">
            <legend>Character classes (each appears at least once)</legend>
            {GENERATE_CLASSES.map((c) => (
              <label>
                <input type="checkbox" name={`class_${c}`} value="on" checked /> {c}
              </label>
            ))}
          </fieldset>
        </>
      );
    default:
      return <ValueFields info={kind} draft={EMPTY_DRAFT} />;
  }
};
