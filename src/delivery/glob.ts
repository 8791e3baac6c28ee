/**
 * Token scope patterns: `*` matches any run of characters (none included), every other
 * character is literal. A two-pointer matcher, no RegExp: on a mismatch it retries only from
 * the most recent `*`, so no input can make it backtrack exponentially. Its cost is at most
 * len(pattern) × len(name); patterns are at most 64 characters (PATTERN in tokens.ts) and
 * only stored names (at most 64 characters) are ever matched.
 */

/** Whether `pattern` matches all of `name`. */
export function globMatch(pattern: string, name: string): boolean {
  let p = 0; // next pattern character
  let n = 0; // next name character
  let star = -1; // pattern index of the last `*` seen
  let resume = 0; // name index that `*` is currently made to cover up to
  while (n < name.length) {
    if (p < pattern.length && pattern[p] !== '*' && pattern[p] === name[n]) {
      p++;
      n++;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      resume = n; // the `*` covers nothing yet
    } else if (star >= 0) {
      // Mismatch after a `*`: let it cover one more character and retry from there.
      p = star + 1;
      n = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}
