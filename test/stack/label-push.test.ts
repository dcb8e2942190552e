// `pamstack label --collect --push URL --token-file F`: the collected states reach a real server's queue
// as rank items (besides the local dataset), a rerun stores nothing twice, and bad input names its flag.
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RankItem } from '../../src/core/protocol.ts';
import { startServer, type PamServer } from '../../src/server/server.ts';
import { Store } from '../../src/store/store.ts';
import { tempDir } from '../server/_helpers.ts';
import { runCli } from './run-cli.ts';

let tmp: ReturnType<typeof tempDir>;
let store: Store;
let server: PamServer;
let robotFile: string;
let annotatorFile: string;
/** A port nothing listens on (taken from the OS, then released). */
let closedPort: number;

beforeAll(async () => {
  tmp = tempDir();
  store = new Store(join(tmp.dir, 'db.sqlite'), { goldEvery: 0 });
  robotFile = join(tmp.dir, 'robot.token');
  annotatorFile = join(tmp.dir, 'annotator.token');
  writeFileSync(robotFile, `${store.users.add('cell1', 'robot').token}\n`, { mode: 0o600 });
  writeFileSync(annotatorFile, store.users.add('ann', 'annotator').token, { mode: 0o600 });
  server = await startServer({ port: 0, store, webRoot: false, log: () => {} });
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  closedPort = (probe.address() as AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
});
afterAll(async () => {
  await server.close();
  store.close();
  tmp.cleanup();
});

const collect = (data: string, extra: string[]) =>
  runCli(['label', '--collect', '--task', 'rope-circle', '--states', '2', '--candidates', '3', '--seed', '3', '--data', data, '--json', ...extra]);
const lastJson = (out: string) => JSON.parse(out.trim().split('\n').pop()!) as Record<string, unknown>;

describe('label --collect --push', () => {
  it('queues each collected state as a rank item on the server, and a rerun stores nothing twice', async () => {
    const data = join(tmp.dir, 'run1');
    // Two workers: the rollouts' worlds are in the workers, the goal is read here only because of --push.
    const r = await collect(data, ['--push', server.url, '--token-file', robotFile, '--workers', '2']);
    expect(r.code, r.err).toBe(0);
    expect(lastJson(r.out)).toMatchObject({ states: 2, push: { url: server.url, added: 2, duplicates: 0, skipped: 0 } });
    const local = readFileSync(join(data, 'states.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { stateId: string; candidates: unknown[]; cloud: { n: number; points: string } });
    const items = (store.db.prepare('SELECT payload FROM items ORDER BY seq').all() as { payload: string }[]).map((x) => JSON.parse(x.payload) as RankItem);
    expect(items).toHaveLength(2);
    items.forEach((it, k) => {
      const s = local[k]!;
      expect(it.stateId).toMatch(new RegExp(`^${s.stateId}@[0-9a-f]{12}$`));
      expect(it.id).toBe(`rank:${it.stateId}`);
      expect(it.candidates).toEqual(s.candidates.map((primitive) => ({ primitive })));
      expect([it.cloud.n, it.cloud.points]).toEqual([s.cloud.n, s.cloud.points]);
      // rope-circle's goal: a closed circle the rope should match, placed freely
      expect(it.goal).toMatchObject({ kind: 'curve', closed: true, placement: 'free' });
    });
    // The same seeded collection again, serially: the same content, so the same ids; the server keeps one of each.
    const again = await collect(join(tmp.dir, 'run2'), ['--push', server.url, '--token-file', robotFile, '--workers', '1']);
    expect(again.code, again.err).toBe(0);
    expect(lastJson(again.out)).toMatchObject({ push: { added: 0, duplicates: 2 } });
    expect((store.db.prepare('SELECT count(*) AS n FROM items').get() as { n: number }).n).toBe(2);
  }, 120_000);

  it.each([
    ['--push without --token-file', () => ['--push', server.url], /^--push: needs --token-file <file>/],
    ['--token-file without --push', () => ['--token-file', robotFile], /^--token-file: only used with --push <url>/],
    ['a missing token file', () => ['--push', server.url, '--token-file', join(tmp.dir, 'nope')], /^--token-file: expected a readable file holding a token .*nope \(ENOENT\)"/],
    ['a URL that is not http(s)', () => ['--push', 'ftp://example.org/', '--token-file', robotFile], /^--push: expected an http:\/\/ or https:\/\/ URL/],
    ['a URL with a password', () => ['--push', 'http://u:secret@127.0.0.1:1/', '--token-file', robotFile], /^--push: expected a URL without user or password .*"http:\/\/\*\*\*@127\.0\.0\.1:1\/"/],
    ['a token the server refuses (403)', () => ['--push', server.url, '--token-file', annotatorFile], /^--token-file: http:\/\/.*\/api\/items refused the token: 403 forbidden \(authorization: adding items needs role robot or admin; you are annotator\)/],
    ['an unknown token (401)', () => { const f = join(tmp.dir, 'unknown.token'); writeFileSync(f, 'pam_not-issued-by-this-server'); return ['--push', server.url, '--token-file', f]; }, /^--token-file: .* refused the token: 401 unauthorized/],
    ['a server that is not there', () => ['--push', `http://127.0.0.1:${closedPort}/`, '--token-file', robotFile], /^--push: http:\/\/127\.0\.0\.1:\d+\/api\/items unreachable \(ECONNREFUSED\)/],
  ])('refuses %s before collecting, naming the flag', async (_what, args, message) => {
    const data = join(tmp.dir, 'refused');
    const r = await collect(data, args());
    expect(r.code).toBe(2);
    expect(r.err.replace(/^pamstack: /m, '').trim()).toMatch(message);
    expect(r.err).not.toContain('secret');
    expect(() => readFileSync(join(data, 'states.jsonl'))).toThrow(/ENOENT/);
  });
});
