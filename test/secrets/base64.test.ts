/**
 * decodeBase64 against Go's base64.StdEncoding.DecodeString (what dockerd runs on a JSON
 * []byte), widened to the URL-safe alphabet with padding. Every error offset below was
 * answered by a real dockerd (20.10, Go 1.19; the decoder is unchanged in Engine 25).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { Base64Error, decodeBase64 } from '../../src/secrets/base64.ts';
import { InvalidRequest } from '../../src/core/errors.ts';

const hex = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
const ascii = (s: string) => Buffer.from(s, 'latin1').toString('hex');

/** Pads unpadded base64url to a multiple of four, as a client that wants the padded form sends it. */
const padded = (s: string) => s + '='.repeat((4 - (s.length % 4)) % 4);

function assertRefused(input: string, offset: number): void {
  assert.throws(
    () => decodeBase64(input),
    (e: unknown) => {
      assert.ok(e instanceof Base64Error, `expected a Base64Error for ${JSON.stringify(input)}, got ${String(e)}`);
      assert.ok(e instanceof InvalidRequest);
      assert.equal(e.code, 'invalid_request');
      assert.equal(e.offset, offset);
      assert.equal(e.message, `illegal base64 data at input byte ${offset}`);
      return true;
    },
  );
}

describe('decodeBase64 accepts what Go accepts', () => {
  const accepted: [title: string, input: string, hex: string][] = [
    ['the empty string is no bytes', '', ''],
    ['one full quantum', 'aGVs', ascii('hel')],
    ['one padding character', 'aGVsbG8=', ascii('hello')],
    ['two padding characters', 'aGVsbA==', ascii('hell')],
    ['a line feed inside the data is skipped', 'aGVs\nbG8=', ascii('hello')],
    ['CR LF inside the data is skipped', 'aGVs\r\nbG8=', ascii('hello')],
    ['CR and LF around the data are skipped', '\r\naGVsbG8=\r\n', ascii('hello')],
    ['a line feed between the two padding characters is skipped', 'aGVsbA=\n=', ascii('hell')],
    ['CR and LF between and after the padding are skipped', 'aGVsbA=\r\n=\n', ascii('hell')],
    ['only line breaks decode to nothing', '\r\n\n\r', ''],
    ['non-zero trailing bits are tolerated (StdEncoding is not Strict)', 'aGVsbG9=', ascii('hello')],
    ['the standard alphabet: + and /', '+/8=', 'fbff'],
    ['the URL-safe alphabet with padding: - and _', '-_8=', 'fbff'],
    ['both alphabets mixed in one value', '+_-/', 'fbffbf'],
    ['all zero bits', 'AAAA', '000000'],
    ['all one bits', '////', 'ffffff'],
  ];
  for (const [title, input, expected] of accepted) {
    test(`decodes ${JSON.stringify(input)}: ${title}`, () => {
      assert.equal(hex(decodeBase64(input)), expected);
    });
  }
});

describe("decodeBase64 refuses what Go refuses, at Go's byte offset", () => {
  const refused: [title: string, input: string, offset: number][] = [
    ['a character outside both alphabets', '!!!!', 0],
    ['a bad character in the first quantum', 'aGV$bG8=', 3],
    ['a third padding character', 'aGVsbG8===', 8],
    ['one padding character where two are needed', 'aGVsbA=', 7],
    ['a missing padding character after three digits', 'aGVsbG8', 4],
    ['missing padding after two digits', 'aGVsbA', 4],
    ['unpadded URL-safe data', '-_8', 0],
    ['a single digit', 'a', 0],
    ['a lone padding character', '=', 0],
    ['padding after one digit', 'a===', 1],
    ['a letter where the second padding character belongs', 'aG=x', 2],
    ['a line feed where the second padding character belongs', 'aGVsbA=\n', 8],
    ['missing padding, counted with the skipped line feed', 'aG\nV', 1],
    ['missing padding, counted with a skipped CR LF', 'aGVz\r\nbG8', 6],
    ['a space (only CR and LF are skipped)', 'aGVs bG8=', 4],
    ['a tab after the padding', 'aGVsbG8=\t', 8],
    ['a non-ASCII character, counted in UTF-8 bytes', 'aGVsü', 4],
    ['a non-ASCII character inside a quantum', 'aGü', 2],
    ['content after one padding character', 'aGVsbG8=x', 8],
    ['content after two padding characters', 'aGVsbA==x', 8],
    ['content after padding and line feeds', 'aGVsbA==\n\nx', 10],
    ['a second value after a padded one', 'aGVsbG8=aGVs', 8],
  ];
  for (const [title, input, offset] of refused) {
    test(`refuses ${JSON.stringify(input)} at byte ${offset}: ${title}`, () => assertRefused(input, offset));
  }
});

describe('decodeBase64 round trips', () => {
  // One buffer per length; every length from 0 to 64 covers each padding case many times.
  const samples = Array.from({ length: 65 }, (_, n) => randomBytes(n));

  test('decodes what Buffer encodes as standard base64, for every length 0..64', () => {
    for (const bytes of samples) assert.equal(hex(decodeBase64(bytes.toString('base64'))), bytes.toString('hex'));
  });

  test('decodes padded base64url, for every length 0..64', () => {
    for (const bytes of samples) assert.equal(hex(decodeBase64(padded(bytes.toString('base64url')))), bytes.toString('hex'));
  });

  test('decodes standard base64 wrapped in CR LF lines (MIME, 76 columns), for every length 0..64', () => {
    for (const bytes of samples) {
      const wrapped = (bytes.toString('base64').match(/.{1,76}/g) ?? []).join('\r\n');
      assert.equal(hex(decodeBase64(wrapped)), bytes.toString('hex'));
    }
  });

  test('decodes base64url with a line feed after every character, for every length 0..64', () => {
    for (const bytes of samples) {
      const spread = padded(bytes.toString('base64url')).split('').join('\n');
      assert.equal(hex(decodeBase64(spread)), bytes.toString('hex'));
    }
  });

  test('refuses base64url without padding whenever padding is due', () => {
    for (const bytes of samples) {
      const url = bytes.toString('base64url');
      if (url.length % 4 === 0) continue;
      // Go: the quantum that runs out counts back from the end to its own start.
      assertRefused(url, url.length - (url.length % 4));
    }
  });

  test('decodes a 500 KiB value', () => {
    const bytes = randomBytes(500 * 1024);
    assert.equal(hex(decodeBase64(bytes.toString('base64'))), bytes.toString('hex'));
    assert.equal(hex(decodeBase64(padded(bytes.toString('base64url')))), bytes.toString('hex'));
  });
});
