/**
 * TemplateError: the one error the Go-template renderer throws, carrying Go's message text.
 * Messages quote the template source, never data values, so a secret cannot leak through one.
 */

/** A parse or execution failure of a Go text/template, worded as Go words it. */
export class TemplateError extends Error {
  override name = 'TemplateError';
  readonly code = 'TEMPLATE_ERROR';
  /** True when a resource bound (output size, steps, depth) stopped the render. */
  readonly limit: boolean;
  constructor(message: string, limit = false) {
    super(message);
    this.limit = limit;
  }
}

/** Converts a message built from Go byte strings (one char per byte) into readable text. */
export function templateError(byteMessage: string, limit = false): TemplateError {
  return new TemplateError(Buffer.from(byteMessage, 'latin1').toString('utf8'), limit);
}
