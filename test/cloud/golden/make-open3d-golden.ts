// Regenerates the Open3D golden files: `npx tsx test/cloud/golden/make-open3d-golden.ts`
// (needs Debian's python3-open3d 0.16). Writes open3d-input.f32 and open3d-golden.json beside it.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { makePerceptionCloud } from '../../../bench/_perception-cloud.ts';

const dir = fileURLToPath(new URL('./', import.meta.url));
const cloud = makePerceptionCloud(4000, 1);
writeFileSync(`${dir}open3d-input.f32`, new Uint8Array(cloud.buffer));
const out = execFileSync('/usr/bin/python3', [`${dir}make_open3d_golden.py`, `${dir}open3d-input.f32`], { encoding: 'utf8' });
writeFileSync(`${dir}open3d-golden.json`, out);
console.log(`wrote ${dir}open3d-golden.json`);
