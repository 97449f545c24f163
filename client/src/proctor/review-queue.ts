/**
 * "Needs a look": the exam's sessions with violations no one has decided on, most suspicious
 * first (`GET /exams/:id/review-queue`), each with what is still unreviewed.
 */
import { byId, el, setText } from '../shared/dom.js';
import { violationLabel } from '../shared/format.js';
import { errorText } from '../shared/socket.js';
import type { Auth } from './auth.js';
import type { QueueItem } from './report-types.js';

export class ReviewQueue {
  readonly #auth: Auth;
  readonly #examId: string;
  readonly #open: (sessionId: string) => void;
  readonly #list = byId('review-queue', HTMLOListElement);
  readonly #status = byId('queue-status', HTMLElement);

  constructor(options: { auth: Auth; examId: string; open: (sessionId: string) => void }) {
    this.#auth = options.auth;
    this.#examId = options.examId;
    this.#open = options.open;
  }

  async load(): Promise<void> {
    try {
      const items = await this.#auth.json<QueueItem[]>('GET', `/api/v1/exams/${this.#examId}/review-queue`);
      this.#list.replaceChildren(...items.map((item) => this.#item(item)));
      setText(
        this.#status,
        items.length === 0
          ? 'Nothing waits for a decision.'
          : `${items.length} session${items.length === 1 ? '' : 's'} with violations no one has reviewed.`,
      );
    } catch (err) {
      setText(this.#status, `The review queue could not be loaded: ${errorText(err)}`);
    }
  }

  #item(item: QueueItem): HTMLLIElement {
    const open = el(
      'button',
      { type: 'button', 'aria-label': `Review the session of ${item.candidateName}` },
      'Review',
    );
    open.addEventListener('click', () => this.#open(item.sessionId));
    const unreviewed = Object.entries(item.unreviewed)
      .map(([type, count]) => `${violationLabel(type)} (${count})`)
      .join(', ');
    return el(
      'li',
      { 'data-testid': 'queue-item', 'data-session': item.sessionId },
      el('strong', {}, item.candidateName),
      ` · score ${item.suspicionScore.toFixed(1)} · ${item.status} · unreviewed: ${unreviewed} `,
      open,
    );
  }
}
