/**
 * Basic-auth credentials, stored as `{"username":…,"password":…}`: the two keys of Kubernetes'
 * `kubernetes.io/basic-auth` secret, in one JSON document a template or a consumer can read.
 */
import { FormError } from './form-error.ts';

export function encodeBasicAuth(username: string, password: string): string {
  if (username === '') throw new FormError('the username is missing');
  // RFC 7617: the user-id cannot contain a colon, nor control characters.
  if (username.includes(':')) throw new FormError('the username must not contain ":" (RFC 7617)');
  if (/[\u0000-\u001f\u007f]/.test(username)) throw new FormError('the username must not contain control characters');
  if (password === '') throw new FormError('the password is missing');
  return JSON.stringify({ username, password });
}
