/**
 * A submitted create form → the SecretSpec the Engine API takes (`POST /secrets/create`):
 * name, labels (with the type label for typed kinds), the value base64-encoded in `Data`,
 * and the driver and templating driver chosen. Checks that belong to a kind (PEM, matching
 * key) happen here; every other rule is the Engine's.
 */
import { encodeBasicAuth } from './basic-auth.ts';
import { FormError } from './form-error.ts';
import { encodeKeyValue } from './key-value.ts';
import { kindInfo, TYPE_LABEL } from './kinds.ts';
import { parsePairs } from './pairs.ts';
import { encodeRegistryAuth } from './registry.ts';
import { encodeTls } from './tls.ts';

export type FormValues = ReadonlyMap<string, string | File>;

/** The JSON body of `POST /secrets/create`. */
export interface WireSpec {
  Name: string;
  Labels: Record<string, string>;
  Data?: string;
  Driver?: { Name: string; Options?: Record<string, string> };
  Templating?: { Name: string };
}

/** A text field ('' when absent or a file). */
export function field(form: FormValues, name: string): string {
  const v = form.get(name);
  return typeof v === 'string' ? v : '';
}

export async function specFromForm(form: FormValues): Promise<WireSpec> {
  const info = kindInfo(field(form, 'kind'));
  const labels = parsePairs(field(form, 'labels'), 'labels');
  if (info.type) labels[TYPE_LABEL] = info.type;
  const spec: WireSpec = { Name: field(form, 'name').trim(), Labels: labels };
  const value = await valueFromForm(info.kind, form);
  if (value.length > 0) spec.Data = Buffer.from(value).toString('base64');
  const driver = field(form, 'driver');
  if (driver) {
    const options = parsePairs(field(form, 'driver_options'), 'driver options');
    spec.Driver = Object.keys(options).length > 0 ? { Name: driver, Options: options } : { Name: driver };
  }
  const templating = field(form, 'templating');
  if (templating) spec.Templating = { Name: templating };
  return spec;
}

/**
 * The bytes the value fields of `kind` hold (the create form's, and the rotate form's); empty
 * when none were given (the Engine then asks for them, or a driver supplies them).
 */
export async function valueFromForm(kind: string, form: FormValues): Promise<Uint8Array> {
  const text = (s: string) => new Uint8Array(Buffer.from(s, 'utf8'));
  switch (kind) {
    case 'kv':
      return text(encodeKeyValue(field(form, 'pairs')));
    case 'file': {
      const file = form.get('file');
      if (!(file instanceof Blob) || file.size === 0) {
        if (field(form, 'driver')) return new Uint8Array();
        throw new FormError('choose a file to upload (an empty file cannot be a secret)');
      }
      return new Uint8Array(await file.arrayBuffer());
    }
    case 'tls':
      return text(encodeTls(field(form, 'cert'), field(form, 'key')));
    case 'registry':
      return text(encodeRegistryAuth(field(form, 'registry'), field(form, 'username'), field(form, 'password')));
    case 'basic-auth':
      return text(encodeBasicAuth(field(form, 'username'), field(form, 'password')));
    default:
      // Browsers send a textarea's line breaks as CRLF; a secret typed on a page means LF.
      return text(field(form, 'value').replace(/\r\n/g, '\n'));
  }
}
