/**
 * LTI Proctoring Services: once a session that came from the learning platform is in progress,
 * the page hands the candidate to the assessment by posting the tool-signed LtiStartAssessment
 * (field `JWT`) to the platform. The post goes to a second window so this page keeps streaming;
 * where the browser blocks that window, a button does the same post (a click may open it).
 */
import { byId, el } from '../shared/dom.js';
import type { SessionStatus } from '../shared/protocol.js';

interface StartAssessmentForm {
  url: string;
  fields: Record<string, string>;
}

const windowName = 'vigil-assessment';

export class LtiHandoff {
  readonly #token: string;
  #done = false;

  constructor(token: string) {
    this.#token = token;
  }

  update(status: SessionStatus): void {
    if (status !== 'in_progress' || this.#done) return;
    this.#done = true;
    void this.#handOff();
  }

  async #handOff(): Promise<void> {
    const response = await fetch('/api/v1/lti/start-assessment', {
      method: 'POST',
      headers: { authorization: `Bearer ${this.#token}`, accept: 'application/json' },
    });
    // 404: this session did not come from an LTI launch; nothing to hand over.
    if (response.status === 404) return;
    if (!response.ok) {
      this.#done = false; // e.g. paused again before the post: try on the next in_progress
      return;
    }
    const form = this.#form((await response.json()) as StartAssessmentForm);
    const opened = window.open('', windowName);
    if (opened) {
      form.submit();
      this.#notice('Your assessment opened in a new window. Keep this page open while you work.');
      return;
    }
    const button = el(
      'button',
      { type: 'button', class: 'primary', 'data-testid': 'lti-open' },
      'Open the assessment',
    );
    button.addEventListener('click', () => {
      form.submit();
      button.remove();
      this.#notice('Your assessment opened in a new window. Keep this page open while you work.');
    });
    this.#notice('Your assessment is ready. Open it with the button below and keep this page open.', button);
  }

  #form({ url, fields }: StartAssessmentForm): HTMLFormElement {
    const form = el('form', { method: 'post', action: url, target: windowName, hidden: true });
    for (const [name, value] of Object.entries(fields)) {
      form.append(el('input', { type: 'hidden', name, value }));
    }
    document.body.append(form);
    return form;
  }

  #notice(text: string, action?: HTMLElement): void {
    const anchor = byId('status-text', HTMLElement);
    document.getElementById('lti-notice')?.remove();
    anchor.after(
      el('div', { id: 'lti-notice', 'data-testid': 'lti-notice', role: 'status' }, el('p', {}, text), action),
    );
  }
}
