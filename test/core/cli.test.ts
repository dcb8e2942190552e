import { execFileSync, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const bin = new URL('../../bin/pamstack.js', import.meta.url).pathname;

describe('pamstack CLI', () => {
  it('lists commands in --help', () => {
    const out = execFileSync('node', [bin, '--help'], { encoding: 'utf8' });
    expect(out).toMatch(/Commands:/);
    expect(out).toMatch(/info/);
  });

  it('prints one JSON object as the last line with --json', () => {
    const out = execFileSync('node', [bin, 'info', '--json'], { encoding: 'utf8' }).trim().split('\n');
    const last = JSON.parse(out[out.length - 1]!);
    expect(last.node).toBe(process.version);
  });

  it('exits non-zero and names an unknown option', () => {
    const r = spawnSync('node', [bin, 'info', '--bogus'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--bogus/);
  });
});
