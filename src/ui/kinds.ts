/**
 * The kinds of secret the console's create form knows. Every kind is an ordinary secret; the
 * typed ones carry the label `com.secretd.type` naming their format, so the list can show it
 * and tools can filter on it (`docker secret ls --filter label=com.secretd.type=tls`).
 */

/** The label that names a typed secret's format. */
export const TYPE_LABEL = 'com.secretd.type';

export type Kind = 'text' | 'kv' | 'file' | 'tls' | 'registry' | 'basic-auth';

export interface KindInfo {
  kind: Kind;
  /** The tab's title. */
  title: string;
  /** What is stored, in a sentence. */
  stores: string;
  /** The value of TYPE_LABEL; none for opaque values (plaintext, an uploaded file). */
  type?: string;
}

export const KINDS: readonly KindInfo[] = [
  { kind: 'text', title: 'Plaintext', stores: 'the text as typed (line breaks as LF)' },
  { kind: 'kv', title: 'Key/value', stores: 'a JSON object of strings, e.g. {"user":"app"}', type: 'kv' },
  { kind: 'file', title: 'File', stores: 'the uploaded file, byte for byte' },
  { kind: 'tls', title: 'TLS', stores: 'a PEM bundle: the certificate (and chain), then the private key', type: 'tls' },
  { kind: 'registry', title: 'Registry credentials', stores: 'a .dockerconfigjson document', type: 'dockerconfigjson' },
  { kind: 'basic-auth', title: 'Basic auth', stores: 'a JSON object {"username":…,"password":…}', type: 'basic-auth' },
];

export function kindInfo(kind: string | undefined): KindInfo {
  return KINDS.find((k) => k.kind === kind) ?? KINDS[0]!;
}

/** The kind a secret was made as, from its type label: a typed kind, else plaintext (untyped values are opaque bytes). */
export function kindOfLabels(labels: Readonly<Record<string, string>>): KindInfo {
  const type = labels[TYPE_LABEL];
  return (type !== undefined && KINDS.find((k) => k.type === type)) || KINDS[0]!;
}
