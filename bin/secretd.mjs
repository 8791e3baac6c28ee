#!/usr/bin/env node
// `secretd` from a checkout or an install: runs the TypeScript entry through tsx's loader.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
