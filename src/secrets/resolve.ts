/**
 * How dockerd turns the `{id}` of a URL into one secret: the full ID, else the exact name
 * (regardless of case), else a unique ID prefix. Two or more prefix matches are ambiguous.
 * A caller that may see only some secrets (a consumer token) passes `visible`: the others are
 * then skipped at every step, so the answer is exactly the one it would be without them.
 */
import type { Store } from '../store/types.ts';
import { AmbiguousPrefix, SecretNotFound } from '../core/errors.ts';
import { looksLikeFullId } from '../core/ids.ts';
import type { SecretRecord } from './types.ts';

export type Visible = (secret: SecretRecord) => boolean;

const everything: Visible = () => true;

export async function resolveSecret(store: Store, input: string, visible: Visible = everything): Promise<SecretRecord> {
  if (looksLikeFullId(input)) {
    const byId = await store.getSecret(input);
    if (byId && visible(byId)) return byId;
  }
  let matches = input === '' ? [] : (await store.findSecrets({ names: [input] })).filter(visible);
  if (matches.length === 0 && input !== '') matches = (await store.findSecrets({ idPrefixes: [input] })).filter(visible);
  if (matches.length === 0) throw new SecretNotFound(input);
  if (matches.length > 1) throw new AmbiguousPrefix(input, matches.length);
  return matches[0]!;
}

/**
 * The secret a write would act on, as `recent` (Store.recentSecrets) knows it: by full ID or
 * exact name only, the two answers a write can confirm by finding that secret still there (a
 * prefix's uniqueness it cannot). Undefined when `recent` does not know; then resolveSecret.
 */
export async function resolveRecent(recent: Pick<Store, 'getSecret' | 'findSecrets'>, input: string): Promise<SecretRecord | undefined> {
  // A full ID the view lacks might be a secret created since, which would win over any name.
  if (looksLikeFullId(input)) return recent.getSecret(input);
  if (input === '') return undefined;
  const byName = await recent.findSecrets({ names: [input] });
  return byName.length === 1 ? byName[0] : undefined;
}
