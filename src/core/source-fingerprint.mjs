// What the build (dist/) was made from: a SHA-256 over the path and bytes of every file under
// src/ and drivers/, in name order. tools/build.ts records it in dist/; bin/secretd.mjs runs the
// build only when the sources still hash to it (file times say nothing once npm has unpacked a
// package). Plain JavaScript: the command checks it before any TypeScript can be loaded.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The fingerprint of the sources under `root`, as hex. */
export function sourceFingerprint(root) {
  const hash = createHash('sha256');
  const walk = (rel) => {
    const entries = readdirSync(join(root, rel), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const p = `${rel}/${e.name}`;
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) hash.update(`${p}\0`).update(readFileSync(join(root, p))).update('\0');
    }
  };
  for (const top of ['src', 'drivers']) walk(top);
  return hash.digest('hex');
}

/** Where the build records the fingerprint of what it was made from. */
export const FINGERPRINT_FILE = 'dist/sources.sha256';
