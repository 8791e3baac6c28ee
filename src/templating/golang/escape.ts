/**
 * Go's text/template escapers behind the html, js and urlquery builtins, on Go byte strings.
 * Each takes the room its result may fill and stops (OverBudget) as soon as it would pass it.
 */
import { decodeRune, isPrint } from './bytes.ts';
import { fits } from './limits.ts';

const HTML: Record<string, string> = { '\0': '\xef\xbf\xbd', '"': '&#34;', "'": '&#39;', '&': '&amp;', '<': '&lt;', '>': '&gt;' };
const CHUNK = 1 << 16;

/** template.HTMLEscapeString. */
export function htmlEscape(s: string, room = Infinity): string {
  fits(s.length, room); // nothing gets shorter
  const parts: string[] = [];
  let length = 0;
  // Chunk by chunk: a result past the room is never built in full.
  for (let i = 0; i < s.length; i += CHUNK) {
    const piece = s.slice(i, i + CHUNK).replace(/[\0"'&<>]/g, (c) => HTML[c]!);
    length += piece.length;
    fits(length, room);
    parts.push(piece);
  }
  return parts.join('');
}

const JS: Record<string, string> = { '\\': '\\\\', "'": "\\'", '"': '\\"', '<': '\\u003C', '>': '\\u003E', '&': '\\u0026', '=': '\\u003D' };

/** template.JSEscapeString. */
export function jsEscape(s: string, room = Infinity): string {
  fits(s.length, room);
  const parts: string[] = [];
  let length = 0;
  const add = (piece: string) => {
    parts.push(piece);
    length += piece.length;
    fits(length, room);
  };
  let run = 0;
  let i = 0;
  const flush = () => {
    if (i > run) add(s.slice(run, i));
  };
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c < 0x80) {
      const ch = s[i]!;
      if (JS[ch] || c < 0x20) {
        flush();
        add(JS[ch] ?? '\\u00' + c.toString(16).toUpperCase().padStart(2, '0'));
        run = ++i;
      } else i++;
      continue;
    }
    const [r, w] = decodeRune(s, i);
    if (isPrint(r)) {
      i += w;
      continue;
    }
    flush();
    add('\\u' + r.toString(16).toUpperCase().padStart(4, '0'));
    run = i += w;
  }
  flush();
  return parts.join('');
}

/** url.QueryEscape: written byte by byte into a buffer (millions of short pieces are slow). */
export function urlQueryEscape(s: string, room = Infinity): string {
  fits(s.length, room);
  let size = 0;
  for (let i = 0; i < s.length; i++) size += UNRESERVED[s.charCodeAt(i)] || s.charCodeAt(i) === 0x20 ? 1 : 3;
  fits(size, room); // measured before anything is built
  const out = Buffer.allocUnsafe(size);
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (UNRESERVED[c]) out[n++] = c;
    else if (c === 0x20) out[n++] = 0x2b;
    else {
      out[n++] = 0x25;
      out[n++] = HEX_DIGITS[c >> 4]!;
      out[n++] = HEX_DIGITS[c & 15]!;
    }
  }
  return out.toString('latin1');
}

const HEX_DIGITS = Buffer.from('0123456789ABCDEF', 'latin1');

/** [A-Za-z0-9-_.~], which url.QueryEscape leaves as they are. */
const UNRESERVED = Uint8Array.from({ length: 0x100 }, (_, c) => (/[A-Za-z0-9\-_.~]/.test(String.fromCharCode(c)) ? 1 : 0));
