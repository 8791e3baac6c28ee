/**
 * The web console at /ui (with --ui; TCP listeners only: on a unix socket /ui is the Engine's
 * bare 404). Every route of the app refuses foreign Host names and cross-site requests first
 * (src/http/browser-guard.ts); then every page goes through the console's guard: a session
 * cookie, the security headers, and for a POST an Origin or Sec-Fetch-Site that says it came
 * from this console, a session, and the CSRF token, read from a size-bound body, before any
 * handler runs. Handlers turn forms into Engine API calls (src/ui/engine.ts), and rotations
 * into calls of secretd's versions routes, so refusals carry the route's status and message,
 * and answer a change with a 303 redirect: no page ever holds a value that was sent.
 */
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import { html } from 'hono/html';
import type { Child } from 'hono/jsx';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { OutOfSequence } from '../../core/errors.ts';
import type { SecretView } from '../../secrets/types.ts';
import { ConfirmDeletePage } from '../../ui/confirm-delete.tsx';
import { CreatePage, EMPTY_DRAFT, type CreateDraft } from '../../ui/create-form.tsx';
import { Csrf, crossSiteReason, SESSION_COOKIE } from '../../ui/csrf.ts';
import { DetailPage } from '../../ui/detail.tsx';
import { field, specFromForm, type FormValues } from '../../ui/encode.ts';
import { type EngineClient, EngineError, type ValueVersionView } from '../../ui/engine.ts';
import { FormError } from '../../ui/form-error.ts';
import { kindInfo, kindOfLabels } from '../../ui/kinds.ts';
import type { PageError } from '../../ui/layout.tsx';
import { ListPage } from '../../ui/list.tsx';
import { MessagePage } from '../../ui/message-page.tsx';
import { parsePairs } from '../../ui/pairs.ts';
import { rotateBodyFromForm, rotateSource } from '../../ui/rotation.ts';
import { SECURITY_HEADERS } from '../../ui/security.ts';
import { STYLE } from '../../ui/style.ts';
import { BodyTooLarge, MAX_BODY_BYTES, readBodyBytes } from '../body.ts';
import type { Caller, EdgeEnv } from '../env.ts';
import { pageNotFound, STATUS_BY_CODE } from '../errors.ts';

export interface UiDeps {
  /** The Engine API, called in-process for this caller (the browser's connection). */
  engine: (caller: Caller) => EngineClient;
  /** Loaded secret and templating drivers, offered in the create form. */
  secretDrivers: readonly string[];
  templatingDrivers: readonly string[];
}

/** The console's own per-request state, set by its guard. */
type UiEnv = EdgeEnv & { Variables: { session: string; form: FormValues } };

export function uiRoutes(app: Hono<EdgeEnv>, deps: UiDeps): void {
  const ui = new Hono<UiEnv>();
  const csrf = new Csrf();
  const token = (c: Context<UiEnv>) => csrf.token(c.var.session);
  const engineFor = (c: Context<UiEnv>) => deps.engine(c.var.caller);

  // Host names and cross-site marks were checked for every route already (src/http/browser-guard.ts).
  const guard: MiddlewareHandler<UiEnv> = async function consoleGuard(c, next) {
    const transport = c.env.listener?.transport;
    if (transport !== 'tcp' && transport !== 'tls') return pageNotFound();
    const tls = transport === 'tls';
    const refuse = (status: ContentfulStatusCode, title: string, message: string) =>
      withHeaders(render(c, status, <MessagePage title={title} error={{ status, message }} />));
    let session = Csrf.sessionFrom(getCookie(c, SESSION_COOKIE));
    if (c.req.method === 'POST') {
      const crossSite = crossSiteReason({ origin: c.req.header('origin'), fetchSite: c.req.header('sec-fetch-site'), host: c.req.header('host'), tls });
      if (crossSite) return refuse(403, 'Forbidden', `refused: ${crossSite}; nothing was changed`);
      // No session, no form: the body of a POST without one is never read.
      if (session === undefined) return refuse(403, 'Forbidden', NO_CSRF);
    }
    if (session === undefined) {
      session = Csrf.newSession();
      setCookie(c, SESSION_COOKIE, session, { httpOnly: true, sameSite: 'Strict', path: '/ui' });
    }
    c.set('session', session);
    if (c.req.method === 'POST') {
      let form: FormValues;
      try {
        form = await readForm(c);
      } catch (e) {
        if (e instanceof BodyTooLarge) return refuse(413, 'Too large', `the form is larger than ${MAX_BODY_BYTES} bytes; nothing was changed`);
        if (e instanceof FormError) return refuse(400, 'Bad request', e.message);
        throw e;
      }
      if (!csrf.verify(session, field(form, 'csrf'))) return refuse(403, 'Forbidden', NO_CSRF);
      c.set('form', form);
    }
    await next();
    await withHeaders(c.res);
  };
  ui.use('/ui/*', guard);

  ui.get('/ui/style.css', (c) => c.body(STYLE, 200, { 'Content-Type': 'text/css; charset=utf-8' }));

  // `/ui/`, as people type it (and as the port forward in the docs prints it), is the list too.
  ui.get('/ui/', (c) => c.redirect(`/ui${new URL(c.req.url).search}`, 308));

  ui.get('/ui', async (c) => {
    const search = (c.req.query('q') ?? '').trim();
    const labels = (c.req.queries('label') ?? []).flatMap((v) => v.split(/\s+/)).filter((v) => v !== '');
    const deleted = c.req.query('deleted');
    const notice = deleted ? `Secret ${deleted} deleted.` : undefined;
    try {
      const found = (await engineFor(c).list(labels)).filter((s) => s.Spec.Name.toLowerCase().includes(search.toLowerCase()));
      found.sort((a, b) => a.Spec.Name.localeCompare(b.Spec.Name));
      return render(c, 200, <ListPage secrets={found} search={search} labels={labels} notice={notice} />);
    } catch (e) {
      const error = engineError(e);
      return render(c, error.status, <ListPage secrets={[]} search={search} labels={labels} error={error} />);
    }
  });

  const createPage = (c: Context<UiEnv>, kind: string, draft: CreateDraft, error?: PageError) =>
    render(
      c,
      error?.status ?? 200,
      <CreatePage
        info={kindInfo(kind)}
        csrf={token(c)}
        secretDrivers={deps.secretDrivers}
        templatingDrivers={deps.templatingDrivers}
        draft={draft}
        error={error}
      />,
    );

  ui.get('/ui/new', (c) => createPage(c, c.req.query('kind') ?? 'text', EMPTY_DRAFT));

  ui.post('/ui/new', async (c) => {
    const form = c.var.form;
    try {
      const id = await engineFor(c).create(await specFromForm(form));
      return c.redirect(`/ui/secrets/${id}?created=1`, 303);
    } catch (e) {
      const draft: CreateDraft = {
        name: field(form, 'name'),
        labels: field(form, 'labels'),
        driver: field(form, 'driver'),
        driverOptions: field(form, 'driver_options'),
        templating: field(form, 'templating'),
        registry: field(form, 'registry'),
      };
      return createPage(c, field(form, 'kind'), draft, formOrEngineError(e));
    }
  });

  /** The page as the secret is now; `source` picks the rotate form's tab (a query, or the form sent). */
  const detailPage = async (c: Context<UiEnv>, id: string, opts: { notice?: string | undefined; error?: PageError; source?: string | undefined } = {}) => {
    const engine = engineFor(c);
    let secret: SecretView;
    try {
      secret = await engine.inspect(id);
    } catch (e) {
      const err = engineError(e);
      return render(c, err.status, <MessagePage title="No such secret" error={err} />);
    }
    let versions: ValueVersionView[] | PageError;
    try {
      versions = await engine.versions(secret.ID);
    } catch (e) {
      versions = engineError(e);
    }
    const source = rotateSource(kindOfLabels(secret.Spec.Labels), opts.source);
    return render(
      c,
      opts.error?.status ?? 200,
      <DetailPage secret={secret} versions={versions} source={source} csrf={token(c)} notice={opts.notice} error={opts.error} />,
    );
  };

  ui.get('/ui/secrets/:id', (c) => detailPage(c, c.req.param('id'), { notice: detailNotice((name) => c.req.query(name)), source: c.req.query('rotate') }));

  // Rotate and rollback carry the record version the page showed, as the label edit does; the
  // versions routes take none, so the console compares it first: a stale page (or the same form
  // sent twice) gets the Engine's "update out of sequence" and the page as it is now.
  ui.post('/ui/secrets/:id/rotate', async (c) => {
    const id = c.req.param('id');
    const form = c.var.form;
    try {
      const current = await unchanged(engineFor(c), id, field(form, 'version'));
      const version = await engineFor(c).rotate(current.ID, await rotateBodyFromForm(form, kindOfLabels(current.Spec.Labels)));
      return c.redirect(`/ui/secrets/${current.ID}?rotated=${version}`, 303);
    } catch (e) {
      return detailPage(c, id, { error: formOrEngineError(e), source: field(form, 'source') });
    }
  });

  ui.post('/ui/secrets/:id/versions/:version/rollback', async (c) => {
    const id = c.req.param('id');
    try {
      const current = await unchanged(engineFor(c), id, field(c.var.form, 'version'));
      const version = await engineFor(c).rollback(current.ID, c.req.param('version'));
      return c.redirect(`/ui/secrets/${current.ID}?rolledback=${version}`, 303);
    } catch (e) {
      return detailPage(c, id, { error: formOrEngineError(e) });
    }
  });

  ui.post('/ui/secrets/:id/labels', async (c) => {
    const id = c.req.param('id');
    const form = c.var.form;
    try {
      const labels = parsePairs(field(form, 'labels'), 'labels');
      const current = await engineFor(c).inspect(id);
      await engineFor(c).updateLabels(current.ID, field(form, 'version'), current.Spec.Name, labels);
      return c.redirect(`/ui/secrets/${current.ID}?updated=1`, 303);
    } catch (e) {
      // The page shows the secret as it is now, so a stale version can be seen and redone.
      return detailPage(c, id, { error: formOrEngineError(e) });
    }
  });

  ui.get('/ui/secrets/:id/delete', async (c) => {
    try {
      return render(c, 200, <ConfirmDeletePage secret={await engineFor(c).inspect(c.req.param('id'))} csrf={token(c)} />);
    } catch (e) {
      const err = engineError(e);
      return render(c, err.status, <MessagePage title="No such secret" error={err} />);
    }
  });

  ui.post('/ui/secrets/:id/delete', async (c) => {
    try {
      const secret = await engineFor(c).inspect(c.req.param('id'));
      await engineFor(c).remove(secret.ID);
      return c.redirect(`/ui?deleted=${encodeURIComponent(secret.Spec.Name)}`, 303);
    } catch (e) {
      const err = engineError(e);
      return render(c, err.status, <MessagePage title="Not deleted" error={err} />);
    }
  });

  app.route('/', ui);
}

/** What the redirect after a change says it did (a version number only if it is one: nothing else is echoed). */
function detailNotice(query: (name: string) => string | undefined): string | undefined {
  const number = (name: string) => (/^[0-9]{1,15}$/.test(query(name) ?? '') ? query(name) : undefined);
  if (query('created') !== undefined) return 'Secret created.';
  if (query('updated') !== undefined) return 'Labels saved.';
  const rotated = number('rotated');
  if (rotated) return `Version ${rotated} stored; it is the current value now.`;
  const rolledBack = number('rolledback');
  if (rolledBack) return `Rolled back: version ${rolledBack} is the current value again.`;
  return undefined;
}

/** The secret `id` names, if its record is still at version `seen` (the page's); else the Engine's refusal of a stale update. */
async function unchanged(engine: EngineClient, id: string, seen: string): Promise<SecretView> {
  const current = await engine.inspect(id);
  if (String(current.Version.Index) !== seen) throw new EngineError(STATUS_BY_CODE.out_of_sequence, new OutOfSequence().message);
  return current;
}

const NO_CSRF = 'refused: the form has no valid CSRF token for this session (reload the page and try again); nothing was changed';

function render(c: Context<UiEnv>, status: number, page: Child): Response | Promise<Response> {
  return c.html(html`<!doctype html>${page}`, status as ContentfulStatusCode);
}

async function withHeaders(res: Response | Promise<Response>): Promise<Response> {
  const r = await res;
  for (const [k, v] of Object.entries(SECURITY_HEADERS)) r.headers.set(k, v);
  return r;
}

/** The body as form fields (multipart or urlencoded), first value per name, read within the size bound. */
async function readForm(c: Context<UiEnv>): Promise<FormValues> {
  const type = c.req.header('content-type') ?? '';
  if (!/^(multipart\/form-data|application\/x-www-form-urlencoded)\b/i.test(type))
    throw new FormError('a form must be sent as multipart/form-data or application/x-www-form-urlencoded');
  const bytes = await readBodyBytes(c);
  let data: FormData;
  try {
    data = await new Response(bytes as Uint8Array<ArrayBuffer>, { headers: { 'Content-Type': type } }).formData();
  } catch {
    throw new FormError('the form could not be read');
  }
  const values = new Map<string, string | File>();
  for (const [k, v] of data) if (!values.has(k)) values.set(k, v);
  return values;
}

function engineError(e: unknown): PageError {
  if (e instanceof EngineError) return { status: e.status, message: e.message };
  throw e;
}

function formOrEngineError(e: unknown): PageError {
  if (e instanceof FormError) return { status: 400, message: e.message };
  return engineError(e);
}
