/**
 * The live violation feed: one element per violation, newest first, updated in place when it
 * closes. Evidence opens in a dialog (the bytes need the bearer token, so no plain links).
 */
import { el, setText } from '../shared/dom.js';
import { clock, violationLabel } from '../shared/format.js';
import type { Evidence, Violation } from '../shared/protocol.js';

/** Enough history for a long exam; older entries stay available through the REST API. */
const MAX_ITEMS = 500;

export interface FeedCallbacks {
  candidateName(sessionId: string): string;
  focusSession(sessionId: string): void;
  openEvidence(evidence: Evidence, title: string): void;
}

export class Feed {
  readonly #list: HTMLOListElement;
  readonly #empty: HTMLElement;
  readonly #callbacks: FeedCallbacks;
  readonly #items = new Map<string, HTMLLIElement>();

  constructor(list: HTMLOListElement, empty: HTMLElement, callbacks: FeedCallbacks) {
    this.#list = list;
    this.#empty = empty;
    this.#callbacks = callbacks;
  }

  get openCount(): number {
    return this.#list.querySelectorAll('li.open').length;
  }

  upsert(v: Violation): void {
    const element = this.#render(v);
    const existing = this.#items.get(v.id);
    this.#items.set(v.id, element);
    if (existing) return existing.replaceWith(element);
    // Newest first; backfilled history can arrive after live items, so insert in order.
    const startedAt = Number(element.dataset.started);
    const before = [...this.#list.children].find(
      (item) => item instanceof HTMLElement && Number(item.dataset.started) < startedAt,
    );
    this.#list.insertBefore(element, before ?? null);
    this.#empty.hidden = true;
    this.#trim();
  }

  /** A candidate's name arrived or changed: relabel their entries. */
  rename(sessionId: string): void {
    const name = this.#callbacks.candidateName(sessionId);
    for (const button of this.#list.querySelectorAll<HTMLButtonElement>(
      `li[data-session="${CSS.escape(sessionId)}"] .who`,
    )) {
      setText(button, name);
    }
  }

  #render(v: Violation): HTMLLIElement {
    const name = this.#callbacks.candidateName(v.sessionId);
    const label = violationLabel(v.type);
    const who = el('button', { type: 'button', class: 'who link', title: 'Show this candidate' }, name);
    who.addEventListener('click', () => this.#callbacks.focusSession(v.sessionId));
    const evidence = v.evidence.map((e, i) => {
      const button = el('button', { type: 'button', class: 'link' }, `${e.kind} ${i + 1}`);
      button.addEventListener('click', () => this.#callbacks.openEvidence(e, `${label} — ${name}`));
      return button;
    });
    return el(
      'li',
      {
        'data-testid': 'violation',
        'data-session': v.sessionId,
        'data-type': v.type,
        'data-id': v.id,
        'data-severity': v.severity,
        'data-started': Date.parse(v.startedAt) || Date.now(),
        class: v.endedAt === null ? 'open' : 'resolved',
      },
      el(
        'div',
        { class: 'feed-head' },
        el('span', { class: 'severity' }, v.severity),
        el('strong', { class: 'label' }, label),
        el('time', { datetime: v.startedAt }, clock(v.startedAt)),
      ),
      el(
        'div',
        { class: 'feed-meta' },
        who,
        el('span', { class: 'state' }, v.endedAt === null ? 'open' : `resolved ${clock(v.endedAt)}`),
        v.source === 'client' ? el('span', { class: 'source' }, 'browser') : null,
        ...evidence,
      ),
    );
  }

  #trim(): void {
    while (this.#items.size > MAX_ITEMS) {
      const last = this.#list.lastElementChild;
      if (!(last instanceof HTMLLIElement) || !last.dataset.id) break;
      last.remove();
      this.#items.delete(last.dataset.id);
    }
  }
}
