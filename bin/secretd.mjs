#!/usr/bin/env node
// The `secretd` command, from a checkout (`npx secretd`, `npm start`) or installed
// (`npm install -g`). It runs the build (dist/, `npm run build`, made by `npm install`) as plain
// JavaScript while the sources are the ones it was made from: one `node` process, no TypeScript
// compiler loaded. Otherwise (no build, or sources edited since) it runs the TypeScript entry
// through tsx's hooks. Both of them: a user's `--driver ./x.ts` in a folder without package.json
// is CommonJS by Node's rules, which only tsx's require hook compiles (the ESM hook alone leaves
// its TypeScript to Node: "Missing initializer in const declaration").
// The package's own tsconfig (Hono JSX for the console) applies whatever folder it runs from.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FINGERPRINT_FILE, sourceFingerprint } from '../src/core/source-fingerprint.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));

function buildIsCurrent() {
  try {
    return readFileSync(join(root, FINGERPRINT_FILE), 'utf8').trim() === sourceFingerprint(root);
  } catch {
    return false; // no build
  }
}

if (buildIsCurrent()) {
  await import('../dist/src/main.js');
} else {
  const { register: registerRequireHook } = await import('tsx/cjs/api');
  const { register: registerImportHook } = await import('tsx/esm/api');
  const tsconfig = join(root, 'tsconfig.json');
  const inherited = process.env.TSX_TSCONFIG_PATH;
  process.env.TSX_TSCONFIG_PATH = tsconfig; // the require hook reads it when registered
  registerRequireHook();
  registerImportHook({ tsconfig });
  if (inherited === undefined)
    delete process.env.TSX_TSCONFIG_PATH; // not for drivers' child processes
  else process.env.TSX_TSCONFIG_PATH = inherited;
  await import('../src/main.ts');
}
