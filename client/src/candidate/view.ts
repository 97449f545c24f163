/**
 * What the candidate sees of the session: status, connection, notices (violations), proctor
 * messages, guidance hints, liveness prompts. Only rendering; main.ts decides when.
 */
import { byId, el, setText } from '../shared/dom.js';
import { clock, statusText, violationLabel } from '../shared/format.js';
import type { ProctorMessage, SessionStatus, Violation } from '../shared/protocol.js';

const ACTION_TEXT: Record<ProctorMessage['action'], string> = {
  warn: 'Warning from your proctor',
  pause: 'Your proctor paused the exam',
  resume: 'Your proctor resumed the exam',
  terminate: 'Your proctor ended the exam',
  complete: 'The exam is complete',
  flag: 'Message from your proctor',
};

/** Hints are about capture quality, not cheating; they fade once the problem is likely fixed. */
const GUIDANCE_MS = 10_000;

export class CandidateView {
  readonly #status = byId('status', HTMLElement);
  readonly #statusText = byId('status-text', HTMLElement);
  readonly #connection = byId('connection', HTMLElement);
  readonly #media = byId('media-state', HTMLElement);
  readonly #message = byId('proctor-message', HTMLElement);
  readonly #guidance = byId('guidance', HTMLElement);
  readonly #liveness = byId('liveness', HTMLElement);
  readonly #violations = byId('violations', HTMLUListElement);
  readonly #noViolations = byId('no-violations', HTMLElement);
  readonly #ended = byId('ended', HTMLElement);
  readonly #setupError = byId('setup-error', HTMLElement);
  #guidanceTimer: number | undefined;

  setStatus(status: SessionStatus): void {
    setText(this.#status, status);
    this.#status.dataset.status = status;
    setText(this.#statusText, statusText(status));
    document.body.dataset.status = status;
  }

  setConnection(state: 'offline' | 'connecting' | 'online' | 'reconnecting', detail = ''): void {
    const words = {
      offline: 'Not connected',
      connecting: 'Connecting…',
      online: 'Connected',
      reconnecting: 'Reconnecting…',
    };
    setText(this.#connection, detail ? `${words[state]} — ${detail}` : words[state]);
    this.#connection.dataset.state = state;
  }

  setMedia(ok: boolean, message: string): void {
    setText(this.#media, message);
    this.#media.dataset.ok = String(ok);
  }

  /** Errors before or while joining, shown under the join button. */
  setupError(message: string): void {
    setText(this.#setupError, message);
  }

  violationOpened(v: Violation): void {
    const item = this.#violationItem(v);
    item.classList.toggle('resolved', v.endedAt !== null);
    this.#violationTime(item, v);
  }

  violationClosed(v: Violation): void {
    // Kept in the list, marked resolved: the candidate can see what was noticed and that it cleared.
    const item = this.#violationItem(v);
    item.classList.add('resolved');
    this.#violationTime(item, v);
  }

  proctorMessage(m: ProctorMessage): void {
    const text = m.message ?? ACTION_TEXT[m.action];
    this.#message.replaceChildren(el('strong', {}, text), el('span', { class: 'time' }, clock(m.at)));
    this.#message.dataset.action = m.action;
  }

  guidance(g: { code: string; message: string }): void {
    setText(this.#guidance, g.message);
    this.#guidance.dataset.code = g.code;
    window.clearTimeout(this.#guidanceTimer);
    this.#guidanceTimer = window.setTimeout(() => setText(this.#guidance, ''), GUIDANCE_MS);
  }

  livenessChallenge(c: { step: string; instruction: string; deadline: string }): void {
    this.#liveness.hidden = false;
    this.#liveness.replaceChildren(
      el('strong', {}, 'Identity check: '),
      c.instruction,
      el('span', { class: 'time' }, ` (before ${clock(c.deadline)})`),
    );
    this.#liveness.dataset.step = c.step;
  }

  livenessResult(r: { passed: boolean }): void {
    this.#liveness.hidden = false;
    this.#liveness.replaceChildren(
      r.passed
        ? 'Identity check complete. Thank you.'
        : 'The identity check did not succeed. Your proctor has been informed.',
    );
  }

  /** Something that stops the page from working at all (no token, refused token). */
  fatal(title: string, message: string): void {
    this.#ended.replaceChildren(el('h2', {}, title), el('p', {}, message));
    this.#ended.hidden = false;
  }

  ended(status: SessionStatus): void {
    const why =
      status === 'completed'
        ? 'Your exam is complete.'
        : status === 'terminated'
          ? 'Your proctor has ended this exam session.'
          : 'This exam session could not continue.';
    setText(this.#guidance, '');
    this.setMedia(false, 'Your camera and microphone are off.');
    this.#ended.replaceChildren(
      el('h2', {}, 'Session ended'),
      el('p', {}, why, ' Your camera and microphone are off. You can close this tab.'),
      el(
        'p',
        {},
        el(
          'a',
          { href: `/candidate/outcome${location.search}`, 'data-testid': 'outcome-link' },
          'See what was recorded',
        ),
        ' (and how to appeal).',
      ),
    );
    this.#ended.hidden = false;
    this.#ended.focus();
  }

  #violationItem(v: Violation): HTMLLIElement {
    let item = this.#violations.querySelector<HTMLLIElement>(`li[data-id="${CSS.escape(v.id)}"]`);
    if (!item) {
      item = el(
        'li',
        { 'data-testid': 'violation', 'data-type': v.type, 'data-id': v.id, 'data-severity': v.severity },
        el('span', { class: 'label' }, violationLabel(v.type)),
        el('span', { class: 'time' }),
      );
      this.#violations.prepend(item);
      this.#noViolations.hidden = true;
    }
    return item;
  }

  #violationTime(item: HTMLLIElement, v: Violation): void {
    const time = item.querySelector('.time');
    if (!time) return;
    setText(time, v.endedAt ? `${clock(v.startedAt)}, resolved ${clock(v.endedAt)}` : clock(v.startedAt));
  }
}
