import { readFileSync } from 'node:fs';

// Both src/version.ts (tsx, tests) and dist/version.js sit one folder below package.json.
export const VERSION: string = JSON.parse(
  readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
).version;
