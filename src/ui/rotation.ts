/**
 * A submitted rotate form → the body of `POST /_secretd/v1/secrets/{id}/versions`. A typed
 * secret (TLS, key/value, …) takes its new value in the fields of its kind, checked as the create
 * form checks them, so its type label stays true; an untyped one takes text, an uploaded file, or
 * a generated value (length and character classes; the daemon draws it and nobody sees it).
 */
import { CHARACTER_CLASSES, MAX_GENERATED_LENGTH, MIN_GENERATED_LENGTH, type CharacterClass } from '../secrets/generate.ts';
import { field, valueFromForm, type FormValues } from './encode.ts';
import type { RotateBody } from './engine.ts';
import { FormError } from './form-error.ts';
import type { KindInfo } from './kinds.ts';

/** Where the new value comes from: the tabs of the rotate form. */
export type RotateSource = 'paste' | 'file' | 'generate';

export const ROTATE_SOURCES: readonly { source: RotateSource; title: string }[] = [
  { source: 'paste', title: 'Paste' },
  { source: 'file', title: 'Upload a file' },
  { source: 'generate', title: 'Generate' },
];

export const GENERATE_CLASSES = Object.keys(CHARACTER_CLASSES) as CharacterClass[];

/** The length the generate tab proposes. */
export const DEFAULT_GENERATED_LENGTH = 32;

/** The sources a secret of `kind` offers: all three for an untyped value, its own fields for a typed one. */
export function sourcesFor(kind: KindInfo): readonly RotateSource[] {
  return kind.type === undefined ? ROTATE_SOURCES.map((s) => s.source) : ['paste'];
}

/** The source a query or form names, if `kind` offers it; else the first. */
export function rotateSource(kind: KindInfo, asked: string | undefined): RotateSource {
  const offered = sourcesFor(kind);
  return offered.find((s) => s === asked) ?? offered[0]!;
}

export async function rotateBodyFromForm(form: FormValues, kind: KindInfo): Promise<RotateBody> {
  const source = field(form, 'source');
  if (!sourcesFor(kind).some((s) => s === source)) {
    throw new FormError(`a ${kind.title} secret takes its new value in its own fields (Paste), so it stays ${kind.type ?? 'text'}`);
  }
  if (source === 'generate') return { Generate: generateSpecFromForm(form) };
  const value = await valueFromForm(source === 'file' ? 'file' : kind.kind, form);
  if (value.length === 0) throw new FormError('type the new value (an empty value cannot be a secret)');
  try {
    return { Data: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') };
  } finally {
    value.fill(0);
  }
}

function generateSpecFromForm(form: FormValues): { Length: number; Classes: CharacterClass[] } {
  const text = field(form, 'length').trim();
  const length = /^[0-9]{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(length >= MIN_GENERATED_LENGTH && length <= MAX_GENERATED_LENGTH)) {
    throw new FormError(`the length of a generated value is a whole number from ${MIN_GENERATED_LENGTH} to ${MAX_GENERATED_LENGTH}`);
  }
  // One checkbox a class (the console's forms keep the first value of a name only).
  const classes = GENERATE_CLASSES.filter((c) => field(form, `class_${c}`) !== '');
  if (classes.length === 0) throw new FormError('choose at least one character class for the generated value');
  return { Length: length, Classes: classes };
}
