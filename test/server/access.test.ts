// Access: revoked users lose their sockets, idle unauthenticated sockets close, connection caps, failed-auth
// limits per address, who may reset an e-stop, what /healthz tells strangers, and HTTPS/WSS.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AccessGuard } from '../../src/server/access.ts';
import { startServer, type PamServer } from '../../src/server/server.ts';
import { Store } from '../../src/store/store.ts';
import { connect, tempDir, TestClient } from './_helpers.ts';

const open: { server: PamServer; store: Store; tmp: ReturnType<typeof tempDir> }[] = [];

async function setup(opts: Parameters<typeof startServer>[0] = {}) {
  const tmp = tempDir();
  const store = new Store(join(tmp.dir, 'db.sqlite'), { goldEvery: 0 });
  const server = await startServer({ port: 0, store, webRoot: false, log: () => {}, ...opts });
  open.push({ server, store, tmp });
  return { server, store, tmp };
}

afterEach(async () => {
  for (const o of open.splice(0)) {
    await o.server.close();
    o.store.close();
    o.tmp.cleanup();
  }
});

const closedWithin = async (c: TestClient, ms: number) => {
  const t0 = Date.now();
  while (!c.closed && Date.now() - t0 < ms) await new Promise((r) => setTimeout(r, 20));
  return c.closed;
};

describe('revoked credentials', () => {
  it('closes the open socket of a user disabled in another connection to the store within a second', async () => {
    const { server, tmp } = await setup({ revalidateMs: 200 });
    const admin = new Store(join(tmp.dir, 'db.sqlite'));
    const { token } = admin.users.add('alice', 'annotator');
    const c = await connect(server.url, token);
    expect(await c.request({ op: 'ping' })).toMatchObject({ op: 'pong' });
    // What `pamstack users disable alice` does, from its own process and its own store handle.
    admin.users.setDisabled('alice', true);
    const t0 = Date.now();
    const closed = await closedWithin(c, 2000);
    expect(closed).toEqual({ code: 1008, reason: 'user disabled' });
    expect(Date.now() - t0).toBeLessThan(1000);
    admin.close();
  });

  it('closes sockets opened with a replaced token, and the new token works', async () => {
    const { server, store } = await setup({ revalidateMs: 200 });
    const { token } = store.users.add('bob', 'operator');
    const c = await connect(server.url, token);
    const other = await connect(server.url, store.users.add('carol', 'operator').token);
    const fresh = store.users.rotateToken('bob');
    expect(await closedWithin(c, 2000)).toEqual({ code: 1008, reason: 'token replaced' });
    expect(other.closed).toBeNull();
    const d = await connect(server.url, fresh);
    expect(await d.request({ op: 'ping' })).toMatchObject({ op: 'pong' });
    c.close();
    d.close();
    other.close();
  });
});

describe('unauthenticated sockets and caps', () => {
  it('closes a socket that does not authenticate before the deadline; an authenticated one stays', async () => {
    const { server, store } = await setup({ access: { authTimeoutMs: 300 } });
    const idle = new TestClient(server.url);
    await idle.opened();
    const good = await connect(server.url, store.users.add('dora', 'annotator').token);
    expect(await closedWithin(idle, 3000)).toEqual({ code: 1008, reason: 'not authenticated within 0.3 s' });
    await new Promise((r) => setTimeout(r, 400));
    expect(good.closed).toBeNull();
    expect(await good.request({ op: 'ping' })).toMatchObject({ op: 'pong' });
    good.close();
  });

  it('refuses connections past the per-address cap with a clear reason, and admits again after one closes', async () => {
    const { server } = await setup({ access: { maxPerAddress: 3, maxConnections: 10 } });
    const cs = [new TestClient(server.url), new TestClient(server.url), new TestClient(server.url)];
    await Promise.all(cs.map((c) => c.opened()));
    const fourth = new TestClient(server.url);
    expect(await closedWithin(fourth, 2000)).toEqual({ code: 1013, reason: expect.stringMatching(/limit per address \(3\)/) });
    cs[0]!.close();
    await new Promise((r) => setTimeout(r, 100));
    const fifth = new TestClient(server.url);
    await fifth.opened();
    await new Promise((r) => setTimeout(r, 100));
    expect(fifth.closed).toBeNull();
    for (const c of [...cs, fifth]) c.close();
  });

  it('refuses connections past the global cap', async () => {
    const { server } = await setup({ access: { maxPerAddress: 10, maxConnections: 2 } });
    const cs = [new TestClient(server.url), new TestClient(server.url)];
    await Promise.all(cs.map((c) => c.opened()));
    const third = new TestClient(server.url);
    expect(await closedWithin(third, 2000)).toEqual({ code: 1013, reason: expect.stringMatching(/server connection limit \(2\)/) });
    for (const c of cs) c.close();
  });

  it('counts refused tokens per address across sockets, then refuses even a good token from there', async () => {
    const { server, store } = await setup({ access: { maxFailedAuthPerAddress: 4 } });
    const token = store.users.add('eve', 'annotator').token;
    for (let i = 0; i < 4; i++) {
      const c = new TestClient(server.url);
      await c.opened();
      expect(await c.request({ op: 'auth', token: `pam_wrong-token-${i}-xxxxxxxx` })).toMatchObject({ code: 'unauthorized' });
      c.close();
    }
    const c = new TestClient(server.url);
    await c.opened();
    const r = (await c.request({ op: 'auth', token })) as { code: string; message: string };
    expect(r.code).toBe('unauthorized');
    expect(r.message).toMatch(/too many refused tokens from this address \(4 in 600 s\)/);
    expect(await closedWithin(c, 2000)).toMatchObject({ code: 1008 });
  });

  it('forgets refused tokens after the window', () => {
    let now = 0;
    const g = new AccessGuard({ maxFailedAuthPerAddress: 2, authWindowMs: 1000, now: () => now });
    g.authFailed('a');
    g.authFailed('a');
    expect(g.authBlocked('a')).toMatch(/try again in 1 s/);
    expect(g.authBlocked('b')).toBeNull();
    now = 1000;
    expect(g.authBlocked('a')).toBeNull();
  });

  it.each([
    ['maxConnections', 0],
    ['maxPerAddress', 1.5],
    ['authTimeoutMs', -1],
  ])('refuses %s = %s naming the field', (field, v) => {
    expect(() => new AccessGuard({ [field]: v })).toThrow(new RegExp(`${field}: expected an integer ≥ 1, received ${v}`));
  });
});

describe('e-stop reset policy', () => {
  it('lets only the latching operator or an admin reset it, and logs every latch, reset and refusal', async () => {
    const { server, store } = await setup({ world: undefined, onTeleop: async () => ({ duration: 0, wall: 0, metrics: {} }) });
    const op1 = await connect(server.url, store.users.add('op1', 'operator').token);
    const op2 = await connect(server.url, store.users.add('op2', 'operator').token);
    const adm = await connect(server.url, store.users.add('adm', 'admin').token);
    expect(await op1.request({ op: 'estop', engaged: true })).toMatchObject({ estop: true, estopBy: 'op1' });
    const r = await op2.request({ op: 'estop', engaged: false });
    expect(r).toMatchObject({ op: 'error', code: 'forbidden', field: 'engaged', message: 'engaged: the e-stop was latched by op1; only op1 or an admin may reset it' });
    expect(server.teleop.estopped).toBe(true);
    expect(await op1.request({ op: 'estop', engaged: false })).toMatchObject({ estop: false });
    await op2.request({ op: 'estop', engaged: true });
    expect(await adm.request({ op: 'estop', engaged: false })).toMatchObject({ estop: false });
    expect(store.estopLog().map((e) => [e.user_name, e.action])).toEqual([
      ['op1', 'latch'],
      ['op2', 'reset_refused'],
      ['op1', 'reset'],
      ['op2', 'latch'],
      ['adm', 'reset'],
    ]);
    for (const c of [op1, op2, adm]) c.close();
  });

  it('with any-operator, another operator may reset', async () => {
    const { server, store } = await setup({ estopReset: 'any-operator', onTeleop: async () => ({ duration: 0, wall: 0, metrics: {} }) });
    const op1 = await connect(server.url, store.users.add('op1', 'operator').token);
    const op2 = await connect(server.url, store.users.add('op2', 'operator').token);
    await op1.request({ op: 'estop', engaged: true });
    expect(await op2.request({ op: 'estop', engaged: false })).toMatchObject({ estop: false });
    op1.close();
    op2.close();
  });
});

describe('/healthz', () => {
  it('answers only "ok" without an admin token; details with one', async () => {
    const { server, store } = await setup();
    const plain = await fetch(`${server.url}healthz`);
    expect(plain.status).toBe(200);
    expect(await plain.text()).toBe('ok\n');
    const ann = store.users.add('ann', 'annotator').token;
    expect(await (await fetch(`${server.url}healthz`, { headers: { authorization: `Bearer ${ann}` } })).text()).toBe('ok\n');
    const adm = store.users.add('adm', 'admin').token;
    const full = (await (await fetch(`${server.url}healthz`, { headers: { authorization: `Bearer ${adm}` } })).json()) as Record<string, unknown>;
    expect(full).toMatchObject({ ok: true, connections: 0, estop: false });
  });
});

describe('TLS', () => {
  it('serves HTTPS and WSS with --tls-cert/--tls-key material', async () => {
    const { dir, cleanup } = tempDir();
    try {
      execFileSync('openssl', [
        'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
        '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
        '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
      ], { stdio: 'ignore' });
      const cert = readFileSync(join(dir, 'cert.pem'));
      const { server, store } = await setup({ tls: { cert, key: readFileSync(join(dir, 'key.pem')) } });
      expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/$/);
      const body = await new Promise<string>((resolve, reject) => {
        const rq = httpsRequest(`${server.url}healthz`, { ca: cert }, (res) => {
          let s = '';
          res.on('data', (d) => (s += String(d)));
          res.on('end', () => resolve(s));
        });
        rq.on('error', reject);
        rq.end();
      });
      expect(body).toBe('ok\n');
      // The test client turns https:// into wss://.
      const c = await connect(server.url, store.users.add('tls', 'annotator').token, { ca: cert });
      expect(c.ws.url).toMatch(/^wss:/);
      expect(await c.request({ op: 'ping' })).toMatchObject({ op: 'pong' });
      c.close();
      // A plain-HTTP request to the TLS port gets no page.
      await expect(fetch(server.url.replace('https', 'http') + 'healthz')).rejects.toThrow();
    } finally {
      cleanup();
    }
  });
});
