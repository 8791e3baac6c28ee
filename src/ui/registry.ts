/**
 * Image registry credentials, stored as the `.dockerconfigjson` document docker login writes
 * and Kubernetes' `kubernetes.io/dockerconfigjson` secrets hold:
 * `{"auths":{"REGISTRY":{"username":…,"password":…,"auth":base64("user:pass")}}}`.
 */
import { FormError } from './form-error.ts';

export function encodeRegistryAuth(registry: string, username: string, password: string): string {
  const host = registry.trim();
  if (host === '') throw new FormError('the registry is missing (e.g. registry.example.com or https://index.docker.io/v1/)');
  if (/\s/.test(host)) throw new FormError('the registry must not contain spaces');
  if (username === '') throw new FormError('the username is missing');
  // "auth" is user:password; a colon in the user would move the split.
  if (username.includes(':')) throw new FormError('the username must not contain ":"');
  if (password === '') throw new FormError('the password is missing');
  const auth = Buffer.from(`${username}:${password}`, 'utf8').toString('base64');
  return JSON.stringify({ auths: { [host]: { username, password, auth } } });
}
