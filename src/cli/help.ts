/**
 * The option columns of every --help (the daemon's and each command's): the names at the left,
 * each description from one fixed column, wrapped at a fixed width and continued under that
 * column. Names too long for the column get a line of their own, the description below.
 */

export const HELP_COLUMN = 30;
export const HELP_WIDTH = 100;

/** `[names, description]` rows as aligned lines (no trailing newline). */
export function helpColumns(rows: readonly (readonly [string, string])[], column = HELP_COLUMN, width = HELP_WIDTH): string {
  const pad = ' '.repeat(column);
  return rows
    .flatMap(([names, description]) => {
      const lines = wrap(description, width - column);
      const left = `  ${names}`;
      // Two spaces at least between the names and their description, as the docker CLI keeps.
      if (left.length + 2 > column) return [left, ...lines.map((l) => pad + l)];
      return [left.padEnd(column) + (lines[0] ?? ''), ...lines.slice(1).map((l) => pad + l)];
    })
    .map((l) => l.trimEnd())
    .join('\n');
}

/** Greedy word wrap at `width`; a word longer than the width stays whole on its own line. */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const w of text.split(/\s+/).filter((x) => x !== '')) {
    if (line === '') line = w;
    else if (line.length + 1 + w.length <= width) line += ` ${w}`;
    else {
      lines.push(line);
      line = w;
    }
  }
  if (line !== '') lines.push(line);
  return lines;
}
