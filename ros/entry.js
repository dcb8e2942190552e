#!/usr/bin/env node
// Executable entry of the ROS 2 nodes (installed as lib/pamstack/<node> wrappers): runs ros/main.ts
// through tsx, as bin/pamstack.js does, then exits with its code.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./main.ts');
process.exit(await main(process.argv.slice(2)));
