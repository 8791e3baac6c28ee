/**
 * Random values for `secretd secret rotate --generate`: a length and the character classes to
 * draw from, each class appearing at least once, as AWS's GetRandomPassword (RequireEachIncludedType)
 * and Vault's password policies offer. Every character is drawn with crypto.randomInt, which is
 * unbiased, and the positions of the required characters are shuffled the same way.
 */
import { randomInt } from 'node:crypto';
import { InvalidRequest } from '../core/errors.ts';
import type { SecretRotateRequest } from '../spec-types/secret-rotate.ts';

export const CHARACTER_CLASSES = {
  upper: 'ABCDEFGHIJKLMNOPQRSTUVWXYZ',
  lower: 'abcdefghijklmnopqrstuvwxyz',
  digits: '0123456789',
  symbols: '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~',
} as const;

export type CharacterClass = keyof typeof CHARACTER_CLASSES;

export const ALL_CLASSES = Object.keys(CHARACTER_CLASSES) as CharacterClass[];

/** What the HTTP body's `Generate` holds (spec/secret-rotate.json; its enum names CHARACTER_CLASSES' keys). */
export type GenerateSpec = NonNullable<SecretRotateRequest['Generate']>;

export const MIN_GENERATED_LENGTH = 8;
export const MAX_GENERATED_LENGTH = 4096;

/** `LENGTH` or `LENGTH:CLASS,CLASS…` (the CLI's --generate SPEC). */
export function parseGenerateSpec(text: string): GenerateSpec {
  const colon = text.indexOf(':');
  const lengthText = colon < 0 ? text : text.slice(0, colon);
  if (!/^[0-9]{1,5}$/.test(lengthText)) throw new InvalidRequest(`--generate ${text}: give LENGTH or LENGTH:CLASSES, e.g. 32 or 24:upper,lower,digits`);
  const spec: GenerateSpec = { Length: Number(lengthText) };
  if (colon >= 0) {
    const classes = text.slice(colon + 1).split(',');
    for (const c of classes) {
      if (!Object.hasOwn(CHARACTER_CLASSES, c)) throw new InvalidRequest(`--generate ${text}: unknown character class "${c}" (use ${ALL_CLASSES.join(', ')})`);
    }
    spec.Classes = classes as CharacterClass[];
  }
  return spec;
}

/** A fresh random value for `spec`; refuses a length out of range or shorter than its classes. */
export function generateValue(spec: GenerateSpec): Buffer {
  const classes = [...new Set(spec.Classes && spec.Classes.length > 0 ? spec.Classes : ALL_CLASSES)];
  if (!Number.isInteger(spec.Length) || spec.Length < MIN_GENERATED_LENGTH || spec.Length > MAX_GENERATED_LENGTH) {
    throw new InvalidRequest(`a generated value must be ${MIN_GENERATED_LENGTH} to ${MAX_GENERATED_LENGTH} characters long (got ${spec.Length})`);
  }
  const pool = classes.map((c) => CHARACTER_CLASSES[c]).join('');
  const chars: string[] = classes.map((c) => pick(CHARACTER_CLASSES[c]));
  while (chars.length < spec.Length) chars.push(pick(pool));
  for (let i = chars.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j]!, chars[i]!];
  }
  return Buffer.from(chars.join(''), 'ascii');
}

function pick(alphabet: string): string {
  return alphabet[randomInt(alphabet.length)]!;
}
