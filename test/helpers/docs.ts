/** The project's documentation files, for the tests that check them (test/docs*.test.ts). */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from './daemon.ts';

/** README.md, then every file in docs/ (sorted), then drivers/README.md: paths relative to the project. */
export function docFiles(): string[] {
  const docs = readdirSync(join(PROJECT_ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort();
  return ['README.md', ...docs.map((f) => `docs/${f}`), 'drivers/README.md'];
}
