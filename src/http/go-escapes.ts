/**
 * Go's %-escapes (net/url's unescape, shared by PathUnescape and QueryUnescape): every '%' starts
 * two hex digits, or the whole string is refused; the bytes decoded are read as UTF-8, with
 * U+FFFD for what is not (as Go's JSON writes them). One pass, linear in the string.
 */

/** The first '%' not followed by two hex digits, with at most two characters after it (Go's EscapeError). */
export function badEscape(s: string): string | undefined {
  for (let i = s.indexOf('%'); i >= 0; i = s.indexOf('%', i + 3)) {
    if (!isHex(s.charCodeAt(i + 1)) || !isHex(s.charCodeAt(i + 2))) return s.slice(i, i + 3);
  }
  return undefined;
}

/** `s` decoded, '+' as a space when `plusIsSpace` (a query's keys and values); undefined for a bad escape. */
export function goUnescape(s: string, plusIsSpace: boolean): string | undefined {
  const spaced = plusIsSpace && s.includes('+') ? s.replaceAll('+', ' ') : s;
  if (!s.includes('%')) return spaced;
  if (badEscape(s) !== undefined) return undefined;
  try {
    return decodeURIComponent(spaced); // the common case, native: escapes of UTF-8
  } catch {
    // Bytes that are not UTF-8: decoded one by one below.
  }
  const parts: Buffer[] = [];
  let from = 0;
  for (let i = spaced.indexOf('%'); i >= 0; i = spaced.indexOf('%', from)) {
    parts.push(Buffer.from(spaced.slice(from, i), 'utf8'), Buffer.of(Number.parseInt(spaced.slice(i + 1, i + 3), 16)));
    from = i + 3;
  }
  parts.push(Buffer.from(spaced.slice(from), 'utf8'));
  return Buffer.concat(parts).toString('utf8');
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}
