// Small DOM helpers for the app shell and views: element builder, toasts, the shared view interface.
import type { Role, ServerMessage, TeleopState } from '../core/protocol.ts';
import type { Connection } from './net.ts';

type Child = Node | string | null | undefined | false;

/** Builds an element: h('div', { class: 'x', onclick: f }, 'text', child). */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number | boolean | ((e: Event) => void) | undefined> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.replace(/^on/, ''), v as EventListener);
    else if (k === 'class') el.className = String(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

/** A key cap for help text: kbd('←'). */
export function kbd(k: string): HTMLElement {
  return h('kbd', {}, k);
}

export function toast(text: string, kind: 'info' | 'error' | 'ok' = 'info', ms = 3500): void {
  let box = document.getElementById('toasts');
  if (!box) {
    box = h('div', { id: 'toasts' });
    document.body.appendChild(box);
  }
  const el = h('div', { class: `toast ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text);
  box.appendChild(el);
  setTimeout(() => el.remove(), ms);
  // The last few, for a test that fails after the toast is gone.
  const hooks = debugHooks();
  hooks.toasts = [...((hooks.toasts as string[] | undefined) ?? []), `${kind}: ${text}`].slice(-10);
}

/** What every view gets from the shell. */
export interface AppContext {
  conn: Connection;
  user: { name: string; role: Role };
  /** The latest teleop state broadcast (null until the server sends one). */
  teleop: TeleopState | null;
  /** Subscribes to broadcasts (teleop.state); returns an unsubscribe function. */
  onBroadcast(f: (m: ServerMessage) => void): () => void;
  /** Subscribes to binary live frames; returns an unsubscribe function. */
  onLive(f: (buf: ArrayBuffer) => void): () => void;
  /** Sets the progress text in the header. */
  setProgress(text: string): void;
}

export interface View {
  readonly name: string;
  mount(root: HTMLElement, ctx: AppContext): void;
  unmount(): void;
  /** Handles a key press; true when it did something (the shell then prevents the default). */
  onKey(e: KeyboardEvent): boolean;
  /** Keyboard help: [keys, what they do]. */
  readonly help: [string, string][];
}

/** Test and debugging hooks, read by the browser tests through `window.__pam`. */
export interface DebugHooks {
  view: string;
  ready: boolean;
  itemId: string | null;
  [k: string]: unknown;
}

declare global {
  interface Window {
    __pam: DebugHooks;
  }
}

export function debugHooks(): DebugHooks {
  if (!window.__pam) window.__pam = { view: '', ready: false, itemId: null };
  return window.__pam;
}
