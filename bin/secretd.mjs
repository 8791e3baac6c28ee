#!/usr/bin/env node
// The `secretd` command, from a checkout (`npx secretd`) or installed (`npm install -g`): runs the
// TypeScript entry through tsx's hooks. Both of them: a user's `--driver ./x.ts` in a folder
// without package.json is CommonJS by Node's rules, which only tsx's require hook compiles (the
// ESM hook alone leaves its TypeScript to Node: "Missing initializer in const declaration").
// The package's own tsconfig (Hono JSX for the console) applies whatever folder it runs from.
import { fileURLToPath } from 'node:url';
import { register as registerRequireHook } from 'tsx/cjs/api';
import { register as registerImportHook } from 'tsx/esm/api';

const tsconfig = fileURLToPath(new URL('../tsconfig.json', import.meta.url));
const inherited = process.env.TSX_TSCONFIG_PATH;
process.env.TSX_TSCONFIG_PATH = tsconfig; // the require hook reads it when registered
registerRequireHook();
registerImportHook({ tsconfig });
if (inherited === undefined)
  delete process.env.TSX_TSCONFIG_PATH; // not for drivers' child processes
else process.env.TSX_TSCONFIG_PATH = inherited;
await import('../src/main.ts');
