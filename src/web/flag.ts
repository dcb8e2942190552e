// The "flag this item" box of the annotation views: a reason and a comment that go with the next answer or skip.
import type { AnswerFlag } from '../core/protocol.ts';
import { debugHooks, h } from './ui.ts';

const REASONS: [AnswerFlag['reason'], string][] = [
  ['broken', 'broken (empty cloud, clip does not play)'],
  ['unclear', 'unclear (the goal or the task does not fit)'],
  ['other', 'other'],
];

export class FlagBox {
  readonly element: HTMLElement;
  #reason: HTMLSelectElement;
  #comment: HTMLTextAreaElement;
  #on = false;

  constructor() {
    this.#reason = h('select', { 'aria-label': 'flag reason' }, ...REASONS.map(([v, t]) => h('option', { value: v }, t))) as HTMLSelectElement;
    this.#comment = h('textarea', { rows: 3, maxlength: 500, placeholder: 'what is wrong (for the reviewers)', 'aria-label': 'flag comment' }) as HTMLTextAreaElement;
    this.element = h(
      'div',
      { class: 'flag-box hidden' },
      h('strong', {}, 'Flag this item'),
      this.#reason,
      this.#comment,
      h('div', { class: 'row' }, h('button', { onclick: () => this.#comment.blur() }, 'Done'), h('button', { onclick: () => this.clear() }, 'Remove flag')),
    );
  }

  /** Whether a flag will go with the next answer. */
  get on(): boolean {
    return this.#on;
  }

  /** Opens the box (F) and puts the cursor in the comment. */
  open(): void {
    this.#on = true;
    this.element.classList.remove('hidden');
    debugHooks().flagOpen = true;
    this.#comment.focus();
  }

  clear(): void {
    this.#on = false;
    this.#comment.value = '';
    this.#reason.value = 'broken';
    this.element.classList.add('hidden');
    debugHooks().flagOpen = false;
  }

  /** The flag for the answer being sent (and resets the box), or undefined when none is set. */
  take(): AnswerFlag | undefined {
    if (!this.#on) return undefined;
    const f = { reason: this.#reason.value as AnswerFlag['reason'], comment: this.#comment.value.trim().slice(0, 500) };
    this.clear();
    return f;
  }
}
