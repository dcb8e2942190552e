// The app shell: sign-in with a token, the header (views, progress, connection), keyboard dispatch and help.
import './style.css';
import type { Role, ServerMessage, TeleopState } from '../core/protocol.ts';
import { Connection, type ConnState } from './net.ts';
import { fillGuidelines, getCurrentTask } from './guidelines.ts';
import { debugHooks, h, kbd, toast, type AppContext, type View } from './ui.ts';
import { AdminView } from './views/admin.ts';
import { CompareView } from './views/compare.ts';
import { LiveView } from './views/live.ts';
import { RankView } from './views/rank.ts';
import { ReviewView } from './views/review.ts';
import { TeleopView } from './views/teleop.ts';

const TOKEN_KEY = 'pam.token';

interface Route {
  name: string;
  title: string;
  roles: Role[];
  make: () => View;
}

const ROUTES: Route[] = [
  { name: 'rank', title: 'Rank', roles: ['annotator', 'admin'], make: () => new RankView() },
  { name: 'compare', title: 'Compare', roles: ['annotator', 'admin'], make: () => new CompareView() },
  { name: 'teleop', title: 'Teleop', roles: ['operator', 'admin'], make: () => new TeleopView() },
  { name: 'live', title: 'Live', roles: ['annotator', 'operator', 'admin'], make: () => new LiveView() },
  { name: 'review', title: 'Review', roles: ['reviewer', 'admin'], make: () => new ReviewView() },
  { name: 'admin', title: 'Admin', roles: ['admin'], make: () => new AdminView() },
];

const app = document.getElementById('app')!;
const hooks = debugHooks();

function wsUrl(): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
}

/** A token passed as #token=… (e.g. printed by `pamstack users add`) is stored and removed from the address bar. */
function tokenFromHash(): string | null {
  const m = /(?:^#|[&#])token=([^&]+)/.exec(location.hash);
  if (!m) return null;
  const t = decodeURIComponent(m[1]!);
  localStorage.setItem(TOKEN_KEY, t);
  history.replaceState(null, '', location.pathname + location.search + location.hash.replace(/[#&]?token=[^&]+/, '').replace(/^$/, ''));
  return t;
}

function showLogin(message?: string): void {
  hooks.view = 'login';
  hooks.ready = true;
  const input = h('input', { type: 'password', id: 'token', placeholder: 'pam_…', autocomplete: 'off', 'aria-label': 'token' });
  const form = h(
    'form',
    { class: 'login' },
    h('h1', {}, 'pamstack'),
    h('p', {}, 'Paste the token from ', h('code', {}, 'pamstack users add'), ' and press Enter.'),
    input,
    message ? h('p', { class: 'error', role: 'alert' }, message) : null,
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const t = input.value.trim();
    if (!t) return;
    localStorage.setItem(TOKEN_KEY, t);
    void start(t);
  });
  app.replaceChildren(form);
  input.focus();
}

async function start(token: string): Promise<void> {
  hooks.ready = false;
  const broadcastSubs = new Set<(m: ServerMessage) => void>();
  const liveSubs = new Set<(b: ArrayBuffer) => void>();
  let teleop: TeleopState | null = null;
  const status = h('span', { class: 'conn' }, 'connecting…');
  const conn = new Connection(wsUrl(), token, {
    onState: (s: ConnState, detail?: string) => {
      status.className = `conn conn-${s}`;
      status.textContent = s === 'open' ? 'online' : s === 'connecting' ? 'connecting…' : s === 'refused' ? 'refused' : 'offline, retrying…';
      if (s === 'refused' && detail) status.title = detail;
    },
    onBroadcast: (m) => {
      if (m.op === 'teleop.state') teleop = m;
      for (const f of broadcastSubs) f(m);
    },
    onLive: (b) => {
      for (const f of liveSubs) f(b);
    },
  });
  let user: { name: string; role: Role };
  try {
    user = await conn.connect();
  } catch (e) {
    localStorage.removeItem(TOKEN_KEY);
    conn.close();
    return showLogin(`Token refused: ${(e as Error).message}`);
  }
  hooks.user = user;
  const routes = ROUTES.filter((r) => r.roles.includes(user.role));
  const progress = h('span', { class: 'progress' });
  const nav = h('nav', {}, ...routes.map((r, i) => h('a', { href: `#/${r.name}`, 'data-view': r.name, title: `Alt+${i + 1}` }, r.title)));
  const main = h('main', {});
  const helpBox = h('div', { class: 'help hidden', role: 'dialog' });
  const header = h(
    'header',
    {},
    h('span', { class: 'brand' }, 'pamstack'),
    nav,
    progress,
    h('span', { class: 'spacer' }),
    h('button', { class: 'icon', title: 'keyboard shortcuts (?)', onclick: () => toggleHelp() }, '?'),
    h('span', { class: 'who' }, `${user.name} · ${user.role}`),
    status,
    h('button', { class: 'icon', title: 'sign out', onclick: () => (localStorage.removeItem(TOKEN_KEY), location.reload()) }, '⎋'),
  );
  app.replaceChildren(header, main, helpBox);

  const ctx: AppContext = {
    conn,
    user,
    get teleop() {
      return teleop;
    },
    onBroadcast: (f) => (broadcastSubs.add(f), () => broadcastSubs.delete(f)),
    onLive: (f) => (liveSubs.add(f), () => liveSubs.delete(f)),
    setProgress: (t) => (progress.textContent = t),
  };

  let view: View | null = null;
  const route = () => {
    const name = /^#\/([a-z]+)/.exec(location.hash)?.[1];
    const r = routes.find((x) => x.name === name) ?? routes[0]!;
    if (view?.name === r.name) return;
    view?.unmount();
    main.replaceChildren();
    main.className = `view-${r.name}`;
    progress.textContent = '';
    for (const a of nav.querySelectorAll('a')) a.classList.toggle('active', a.dataset.view === r.name);
    view = r.make();
    view.mount(main, ctx);
    renderHelp();
    if (`#/${r.name}` !== location.hash) history.replaceState(null, '', `#/${r.name}`);
  };

  const renderHelp = () => {
    if (!view) return;
    helpBox.replaceChildren(
      h('h3', {}, `${routes.find((r) => r.name === view!.name)?.title ?? ''} shortcuts`),
      h('table', {}, ...view.help.map(([k, what]) => h('tr', {}, h('td', {}, kbd(k)), h('td', {}, what)))),
      h('p', {}, kbd(`Alt+1…${routes.length}`), ' switch views · ', kbd('?'), ' this help'),
    );
  };
  // `?` shows the shortcuts and the guidelines of the task on screen (what "better" means there).
  const toggleHelp = () => {
    const open = helpBox.classList.toggle('hidden') === false;
    hooks.helpOpen = open;
    const task = getCurrentTask();
    if (!open || !task) return;
    const section = h('div', { class: 'guidelines-section' }, 'loading the guidelines…');
    helpBox.querySelector('.guidelines-section')?.remove();
    helpBox.append(section);
    void fillGuidelines(section, ctx, task).catch((e) => (section.textContent = `guidelines: ${(e as Error).message}`));
  };

  window.addEventListener('hashchange', route);
  window.addEventListener('keydown', (e) => {
    const t = e.target as HTMLElement;
    if (t.tagName === 'INPUT' && (t as HTMLInputElement).type !== 'range' && (t as HTMLInputElement).type !== 'checkbox') return;
    if (t.tagName === 'TEXTAREA') return;
    // The first-visit guidelines hold the keys until read: Enter or Escape closes them.
    const dialog = document.querySelector('.guidelines-dialog');
    if (dialog) {
      if (e.key === 'Enter' || e.key === 'Escape') (dialog.querySelector('button.primary') as HTMLButtonElement | null)?.click();
      e.preventDefault();
      return;
    }
    if (e.key === '?') {
      toggleHelp();
      e.preventDefault();
      return;
    }
    if (e.altKey && /^Digit[1-9]$/.test(e.code)) {
      const r = routes[Number(e.code.slice(5)) - 1];
      if (r) location.hash = `#/${r.name}`;
      e.preventDefault();
      return;
    }
    if (view?.onKey(e)) {
      e.preventDefault();
      e.stopPropagation();
      // A button keeps focus after a click; give the keys back to the view.
      if (t.tagName === 'BUTTON') t.blur();
    }
  });
  route();
  toast(`signed in as ${user.name} (${user.role})`, 'ok', 2000);
}

const initial = tokenFromHash() ?? localStorage.getItem(TOKEN_KEY);
if (initial) void start(initial);
else showLogin();
