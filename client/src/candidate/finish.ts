/**
 * "Finish exam": offered while the exam runs, asks once more (a finished exam cannot be
 * rejoined), then tells the server. The session's new status arrives as `session:status`.
 */
import { byId, setText } from '../shared/dom.js';
import type { SessionStatus } from '../shared/protocol.js';
import { errorText } from '../shared/socket.js';

export class FinishControl {
  readonly #root = byId('finish', HTMLElement);
  readonly #start = byId('finish-start', HTMLButtonElement);
  readonly #confirm = byId('finish-confirm', HTMLElement);
  readonly #yes = byId('finish-yes', HTMLButtonElement);
  readonly #no = byId('finish-no', HTMLButtonElement);
  readonly #error = byId('finish-error', HTMLElement);

  constructor(finish: () => Promise<unknown>) {
    this.#start.addEventListener('click', () => this.#ask(true));
    this.#no.addEventListener('click', () => this.#ask(false));
    this.#yes.addEventListener('click', () => {
      this.#yes.disabled = true;
      setText(this.#error, '');
      finish().catch((err: unknown) => {
        this.#yes.disabled = false;
        setText(this.#error, `The exam could not be finished: ${errorText(err)}`);
      });
    });
  }

  /** Offered only while there is an exam to finish. */
  update(status: SessionStatus): void {
    this.#root.hidden = status !== 'in_progress' && status !== 'paused';
    if (this.#root.hidden) this.#ask(false);
  }

  #ask(asking: boolean): void {
    this.#confirm.hidden = !asking;
    this.#start.hidden = asking;
    (asking ? this.#no : this.#start).focus();
  }
}
