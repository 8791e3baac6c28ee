/**
 * A console form that cannot become a SecretSpec (a malformed line, a PEM that does not parse, a
 * key that does not match its certificate). Shown in the page as a 400, like the Engine's own
 * refusals; the Engine API is never called.
 */
export class FormError extends Error {
  override name = 'FormError';
}
