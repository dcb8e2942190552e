import { describe, expect, it } from 'vitest';
import { BACKEND_ORDER, initBackend } from '../../src/nn/backend.ts';

describe('initBackend', () => {
  it('tries tensorflow first, then wasm, then cpu', () => {
    expect(BACKEND_ORDER).toEqual(['node-gpu', 'node', 'wasm', 'cpu']);
  });

  it('refuses an unknown choice, naming the allowed ones', async () => {
    await expect(initBackend({ backend: 'tpu', log: null })).rejects.toThrow(/backend: expected one of auto, node-gpu, node, wasm, cpu, received "tpu"/);
  });

  it('auto falls back past absent tfjs-node packages and logs the choice', async () => {
    const lines: string[] = [];
    const info = await initBackend({ backend: 'auto', log: (l) => lines.push(l) });
    expect(['wasm', 'node', 'node-gpu']).toContain(info.choice);
    expect(info.threads).toBeGreaterThanOrEqual(1);
    expect(lines[0]).toMatch(/tfjs backend/);
  });

  it('a forced cpu backend can be chosen and switched back', async () => {
    const cpu = await initBackend({ backend: 'cpu', log: null });
    expect(cpu.tfBackend).toBe('cpu');
    const wasm = await initBackend({ backend: 'wasm', log: null });
    expect(wasm.tfBackend).toBe('wasm');
  });
});
