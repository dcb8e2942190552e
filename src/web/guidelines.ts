// Task guidelines in the app: shown once per task family (again after an edit), on `?`, and editable by admins.
import { taskFamily, type TaskName } from '../core/task.ts';
import { debugHooks, h, toast, type AppContext } from './ui.ts';

const SEEN_KEY = (family: string) => `pam.guidelines.seen.${family}`;

/** The task the current view shows (for `?`); set by the views as items arrive. */
let currentTask: TaskName | null = null;
export function setCurrentTask(task: TaskName | null): void {
  currentTask = task;
}
export function getCurrentTask(): TaskName | null {
  return currentTask;
}

/**
 * A small, safe subset of Markdown: `#` headings, `-` lists, paragraphs, **bold**. Built with text
 * nodes only, so an admin's text can never inject markup.
 */
export function renderMarkdown(md: string): HTMLElement {
  const root = h('div', { class: 'md' });
  let list: HTMLElement | null = null;
  let para: string[] = [];
  const inline = (text: string): Node[] =>
    text.split(/(\*\*[^*]+\*\*)/).filter(Boolean).map((part) => (/^\*\*[^*]+\*\*$/.test(part) ? h('strong', {}, part.slice(2, -2)) : document.createTextNode(part)));
  const flush = () => {
    if (para.length) root.append(h('p', {}, ...inline(para.join(' '))));
    para = [];
  };
  for (const raw of md.split('\n')) {
    const line = raw.trimEnd();
    const heading = /^(#{1,3})\s+(.*)$/.exec(line);
    const item = /^\s*[-*]\s+(.*)$/.exec(line);
    if (heading) {
      flush();
      list = null;
      root.append(h(heading[1]!.length === 1 ? 'h3' : 'h4', {}, ...inline(heading[2]!)));
    } else if (item) {
      flush();
      if (!list) root.append((list = h('ul', {})));
      list.append(h('li', {}, ...inline(item[1]!)));
    } else if (/^\s+\S/.test(line) && list?.lastElementChild) {
      list.lastElementChild.append(' ', ...inline(line.trim()));
    } else if (line.trim() === '') {
      flush();
      list = null;
    } else {
      list = null;
      para.push(line.trim());
    }
  }
  flush();
  return root;
}

/** A short fingerprint of a text, so an edit shows the guidelines again. */
function fingerprint(s: string): string {
  let x = 2166136261;
  for (let i = 0; i < s.length; i++) x = Math.imul(x ^ s.charCodeAt(i), 16777619);
  return (x >>> 0).toString(36);
}

/** Fetches a task's guidelines and renders them (with an editor for admins) into `box`. */
export async function fillGuidelines(box: HTMLElement, ctx: AppContext, task: TaskName, onDone?: () => void): Promise<void> {
  const m = await ctx.conn.request({ op: 'guidelines', task });
  if (m.op !== 'guidelines') return;
  const hooks = debugHooks();
  hooks.guidelines = { task, source: m.source, chars: m.markdown.length };
  const meta = m.source === 'admin' ? `edited by ${m.updatedBy} ${new Date(m.updatedAt ?? 0).toLocaleString()}` : `docs/guidelines/${m.family}.md`;
  const body = renderMarkdown(m.markdown);
  const buttons: HTMLElement[] = [];
  if (onDone) buttons.push(h('button', { class: 'primary', onclick: onDone }, 'Got it'));
  if (ctx.user.role === 'admin')
    buttons.push(
      h('button', {
        class: 'edit-guidelines',
        onclick: () => {
          const area = h('textarea', { class: 'guidelines-editor', rows: 16, 'aria-label': 'guidelines markdown' }) as HTMLTextAreaElement;
          area.value = m.markdown;
          const save = h('button', {
            class: 'primary',
            onclick: async () => {
              try {
                await ctx.conn.request({ op: 'guidelines.set', task, markdown: area.value });
                toast(`guidelines of ${m.family} saved`, 'ok');
                await fillGuidelines(box, ctx, task, onDone);
              } catch (e) {
                toast(`not saved: ${(e as Error).message}`, 'error');
              }
            },
          }, 'Save');
          box.replaceChildren(h('h3', {}, `Edit the ${m.family} guidelines (Markdown)`), area, h('div', { class: 'row' }, save));
          area.focus();
        },
      }, 'Edit'),
    );
  box.replaceChildren(body, h('p', { class: 'dim' }, `Guidelines for ${task} · ${meta}`), h('div', { class: 'row' }, ...buttons));
}

/** Shows the task's guidelines as a dialog the first time this browser sees them (or after an edit). */
export async function showGuidelinesOnFirstVisit(ctx: AppContext, task: TaskName): Promise<void> {
  setCurrentTask(task);
  const family = taskFamily(task);
  if (document.querySelector('.guidelines-dialog')) return;
  let m;
  try {
    m = await ctx.conn.request({ op: 'guidelines', task });
  } catch {
    return;
  }
  if (m.op !== 'guidelines') return;
  const fp = fingerprint(m.markdown);
  if (localStorage.getItem(SEEN_KEY(family)) === fp) return;
  const box = h('div', { class: 'guidelines-body' });
  const dialog = h('div', { class: 'guidelines-dialog', role: 'dialog', 'aria-label': 'task guidelines' }, box);
  const close = () => {
    localStorage.setItem(SEEN_KEY(family), fp);
    dialog.remove();
    debugHooks().guidelinesOpen = false;
  };
  document.body.append(dialog);
  await fillGuidelines(box, ctx, task, close);
  // Open for the keys only once "Got it" exists: Enter / Escape click it (main.ts), and a key pressed while
  // the text is still on its way would do nothing.
  if (dialog.isConnected) debugHooks().guidelinesOpen = true;
}
