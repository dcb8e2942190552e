#!/usr/bin/env node
// `npm run bench -- NAME [args]`: runs bench/NAME.ts (each writes bench/results/NAME*.json).
import { register } from 'tsx/esm/api';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

register();
const dir = fileURLToPath(new URL('../bench/', import.meta.url));
const names = readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.startsWith('_')).map((f) => f.slice(0, -3));
const name = process.argv[2];
if (!name || !names.includes(name)) {
  console.error(`usage: npm run bench -- NAME [args]\n  NAME must be one of: ${names.join(', ') || '(none yet)'}${name ? `\n  got: ${name}` : ''}`);
  process.exit(2);
}
process.argv.splice(2, 1);
await import(`../bench/${name}.ts`);
