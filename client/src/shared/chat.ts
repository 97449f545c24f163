/**
 * One chat message as a list item, shared by the candidate page, the dashboard and the review.
 * The text goes in as a text node (never HTML); `white-space: pre-wrap` keeps its lines.
 */
import { el } from './dom.js';
import { clock } from './format.js';
import type { MessageView } from './protocol.js';

export interface NoteLike {
  id: string;
  text: string;
  at: string;
}

export function messageItem(m: MessageView, sender: string): HTMLLIElement {
  return el(
    'li',
    {
      'data-testid': 'chat-message',
      'data-id': m.id,
      'data-session': m.sessionId,
      'data-from': m.from,
      'data-kind': m.kind,
      class: `chat-message from-${m.from}${m.kind === 'help' ? ' help' : ''}`,
    },
    el(
      'span',
      { class: 'chat-head' },
      el('strong', {}, m.kind === 'help' ? `${sender} raised a hand` : sender),
      ' ',
      el('time', { datetime: m.at }, clock(m.at)),
    ),
    el('span', { class: 'chat-text' }, m.text),
  );
}

export function noteItem(n: NoteLike): HTMLLIElement {
  return el(
    'li',
    { 'data-testid': 'note', 'data-id': n.id, class: 'note' },
    el('time', { datetime: n.at, class: 'muted' }, clock(n.at)),
    ' ',
    el('span', { class: 'chat-text' }, n.text),
  );
}

/** Keeps a list in time order without duplicates (a push and a history load may overlap). */
export class MessageList {
  readonly #seen = new Set<string>();

  constructor(
    readonly list: HTMLOListElement,
    readonly empty: HTMLElement | null,
  ) {}

  /** Adds `m` unless already shown; false when it was. */
  add(m: MessageView, item: () => HTMLLIElement): boolean {
    if (this.#seen.has(m.id)) return false;
    this.#seen.add(m.id);
    const node = item();
    const later = [...this.list.children].find(
      (child) => child instanceof HTMLElement && (child.querySelector('time')?.dateTime ?? '') > m.at,
    );
    this.list.insertBefore(node, later ?? null);
    if (this.empty) this.empty.hidden = true;
    // The newest message is the one to read: keep the box scrolled to it.
    const box = this.list.closest('.chat-log');
    if (!later && box) box.scrollTop = box.scrollHeight;
    return true;
  }
}
