#!/usr/bin/env node
// The `pamstack` CLI: runs the TypeScript sources through tsx so there is no build step to forget.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/stack/cli.ts');
process.exitCode = await main(process.argv);
