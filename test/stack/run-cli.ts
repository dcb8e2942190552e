// Runs the pamstack CLI in-process for tests, capturing stdout and stderr (a spawned tsx start-up costs seconds).
import { vi } from 'vitest';
import { main } from '../../src/stack/cli.ts';

export async function runCli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '', err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
  try {
    return { code: await main(['node', 'pamstack', ...args]), out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}
