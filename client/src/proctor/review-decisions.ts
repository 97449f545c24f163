/**
 * A reviewer's decision (`POST /sessions/:id/reviews`): confirm or dismiss one violation or the
 * whole session, always with the note from the review form (the reason is part of the record).
 */
import { byId, setText } from '../shared/dom.js';
import { errorText } from '../shared/socket.js';
import type { Auth } from './auth.js';
import type { Decision } from './report-types.js';

export class ReviewDecisions {
  readonly #auth: Auth;
  readonly #note = byId('decision-note', HTMLTextAreaElement);
  readonly #error = byId('decision-error', HTMLElement);
  #busy = false;

  constructor(auth: Auth) {
    this.#auth = auth;
  }

  clear(): void {
    setText(this.#error, '');
  }

  /** Sends the decision; resolves true once stored. A missing note is asked for, not sent. */
  async decide(sessionId: string, violationId: string | null, decision: Decision): Promise<boolean> {
    const note = this.#note.value.trim();
    if (!note) {
      setText(this.#error, 'Write the reason for your decision in the review note first.');
      this.#note.focus();
      return false;
    }
    if (this.#busy) return false;
    this.#busy = true;
    setText(this.#error, '');
    try {
      await this.#auth.json('POST', `/api/v1/sessions/${sessionId}/reviews`, {
        decision,
        note,
        ...(violationId ? { violationId } : {}),
      });
      this.#note.value = '';
      return true;
    } catch (err) {
      setText(this.#error, `The decision was not saved: ${errorText(err)}`);
      return false;
    } finally {
      this.#busy = false;
    }
  }
}
