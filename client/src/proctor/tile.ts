/**
 * One candidate's tile: video, name, status, score, connection, last analysis tick, open
 * violations and the actions. Pure view: actions go out through the callbacks it was given.
 */
import { el, setText } from '../shared/dom.js';
import { clock, percent, violationLabel } from '../shared/format.js';
import {
  isTerminal,
  type AnalysisTick,
  type LiveSession,
  type SessionAction,
  type SessionStatus,
  type Violation,
} from '../shared/protocol.js';

export interface TileCallbacks {
  action(sessionId: string, action: SessionAction, message?: string): Promise<void>;
  listen(sessionId: string, on: boolean): Promise<void>;
  /** What makes up the score now, one line per violation (read when "Why this score" opens). */
  explain?(sessionId: string): Promise<{ sentence: string; points: number; decision: string | null }[]>;
}

type Placeholder = 'waiting' | 'paused' | 'off' | 'disconnected' | 'reconnecting' | 'error';
const PLACEHOLDER_TEXT: Record<Placeholder, string> = {
  waiting: 'Waiting for video…',
  paused: 'Camera paused',
  off: 'Camera off',
  disconnected: 'Candidate disconnected',
  reconnecting: 'Reconnecting…',
  error: 'Video unavailable',
};

export class Tile {
  readonly element: HTMLElement;
  readonly sessionId: string;
  #status: SessionStatus;
  #name: string;
  readonly #callbacks: TileCallbacks;
  readonly #video: HTMLVideoElement;
  readonly #audio: HTMLAudioElement;
  readonly #placeholder: HTMLElement;
  readonly #connection: HTMLElement;
  readonly #nameEl: HTMLElement;
  readonly #externalId: HTMLElement;
  readonly #statusEl: HTMLElement;
  readonly #flag: HTMLElement;
  readonly #score: HTMLElement;
  readonly #faces: HTMLElement;
  readonly #match: HTMLElement;
  readonly #voice: HTMLElement;
  readonly #tickTime: HTMLElement;
  readonly #open: HTMLElement;
  readonly #openViolations = new Map<string, HTMLElement>();
  readonly #warnInput: HTMLInputElement;
  readonly #warnLabel: HTMLLabelElement;
  readonly #buttons: Record<'warn' | 'pause' | 'resume' | 'flag' | 'listen' | 'terminate', HTMLButtonElement>;
  readonly #actionsRow: HTMLElement;
  readonly #confirmRow: HTMLElement;
  readonly #confirmButton: HTMLButtonElement;
  readonly #error: HTMLElement;
  /** When the last analysis tick's frame was taken, ISO time (null before the first). */
  #lastTickAt: string | null = null;
  #connected = false;
  #busy = false;

  constructor(session: LiveSession, callbacks: TileCallbacks) {
    this.sessionId = session.id;
    this.#status = session.status;
    this.#name = session.candidate.name;
    this.#callbacks = callbacks;
    const id = session.id;

    this.#video = el('video', { autoplay: true, muted: true, playsinline: true });
    // `muted` as an attribute isn't enough for autoplay in every browser; set the property too.
    this.#video.muted = true;
    this.#audio = el('audio', { autoplay: true, hidden: true });
    this.#placeholder = el('p', { class: 'placeholder' }, PLACEHOLDER_TEXT.waiting);
    this.#connection = el('span', { class: 'conn' });
    this.#nameEl = el('h3', { id: `name-${id}`, class: 'name' });
    this.#externalId = el('span', { class: 'ext' });
    this.#statusEl = el('code', { class: 'status-word', title: 'Session status' });
    this.#flag = el('span', { class: 'flag', hidden: true }, 'Flagged');
    this.#score = el('dd', { class: 'score' });
    this.#faces = el('dd', { 'data-testid': 'tile-faces' }, '—');
    this.#match = el('dd', { 'data-testid': 'tile-match' }, '—');
    this.#voice = el('dd', { 'data-testid': 'tile-voice' }, '—');
    this.#tickTime = el('p', { class: 'tick-time', 'data-testid': 'tile-tick-time' }, 'No analysis yet');
    this.#open = el('ul', { class: 'open-violations', 'aria-label': 'Open violations' });
    this.#warnInput = el('input', {
      id: `warn-${id}`,
      type: 'text',
      maxlength: 1000,
      placeholder: 'Message (optional)',
      autocomplete: 'off',
    });
    this.#buttons = {
      warn: el('button', { type: 'submit' }, 'Warn'),
      pause: el('button', { type: 'button' }, 'Pause'),
      resume: el('button', { type: 'button' }, 'Resume'),
      flag: el('button', { type: 'button' }, 'Flag'),
      listen: el('button', { type: 'button', 'aria-pressed': 'false' }, 'Listen'),
      terminate: el('button', { type: 'button', class: 'danger' }, 'Terminate'),
    };
    this.#confirmButton = el('button', { type: 'button', class: 'danger solid' }, 'Terminate');
    const cancel = el('button', { type: 'button' }, 'Cancel');
    this.#actionsRow = el(
      'div',
      { class: 'actions', role: 'group', 'aria-label': 'Session actions' },
      this.#buttons.pause,
      this.#buttons.resume,
      this.#buttons.flag,
      this.#buttons.listen,
      this.#buttons.terminate,
    );
    this.#confirmRow = el(
      'div',
      { class: 'actions confirm', role: 'group', 'aria-label': 'Confirm termination', hidden: true },
      el('span', {}, 'End this exam?'),
      this.#confirmButton,
      cancel,
    );
    this.#error = el('p', { class: 'error tile-error', role: 'status' });
    this.#warnLabel = el('label', { for: `warn-${id}`, class: 'visually-hidden' }, 'Warning message');
    const warnForm = el('form', { class: 'warn-form' }, this.#warnLabel, this.#warnInput, this.#buttons.warn);

    this.element = el(
      'article',
      {
        class: 'tile',
        'data-testid': 'tile',
        'data-session': id,
        'aria-labelledby': `name-${id}`,
        tabindex: -1,
      },
      el('div', { class: 'media' }, this.#video, this.#placeholder, this.#connection, this.#audio),
      el(
        'div',
        { class: 'tile-body' },
        el('header', { class: 'tile-head' }, this.#nameEl, this.#statusEl, this.#externalId, this.#flag),
        el(
          'dl',
          { class: 'metrics' },
          el('div', {}, el('dt', {}, 'Score'), this.#score),
          el('div', {}, el('dt', {}, 'Faces'), this.#faces),
          el('div', {}, el('dt', {}, 'Match'), this.#match),
          el('div', {}, el('dt', {}, 'Voice'), this.#voice),
        ),
        this.#why(id),
        this.#tickTime,
        this.#open,
        warnForm,
        this.#actionsRow,
        this.#confirmRow,
        this.#error,
      ),
    );

    this.#video.addEventListener('playing', () => (this.#placeholder.hidden = true));
    warnForm.addEventListener('submit', (event) => {
      event.preventDefault();
      const message = this.#warnInput.value.trim();
      void this.#act('warn', message || undefined).then((ok) => {
        if (ok) this.#warnInput.value = '';
      });
    });
    this.#buttons.pause.addEventListener('click', () => void this.#act('pause'));
    this.#buttons.resume.addEventListener('click', () => void this.#act('resume'));
    this.#buttons.flag.addEventListener('click', () => void this.#act('flag'));
    this.#buttons.listen.addEventListener('click', () => void this.#toggleListen());
    // Terminating can't be undone: ask inline (same space, no dialog for tests to handle).
    this.#buttons.terminate.addEventListener('click', () => this.#confirm(true));
    cancel.addEventListener('click', () => this.#confirm(false));
    this.#confirmButton.addEventListener('click', () => {
      this.#confirm(false);
      void this.#act('terminate');
    });
    this.#confirmRow.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') this.#confirm(false);
    });

    this.update(session);
  }

  get name(): string {
    return this.#name;
  }

  get openViolationCount(): number {
    return this.#openViolations.size;
  }

  update(session: LiveSession): void {
    this.#name = session.candidate.name;
    setText(this.#nameEl, session.candidate.name);
    setText(this.#externalId, session.candidate.externalId);
    this.#video.setAttribute('aria-label', `Camera of ${session.candidate.name}`);
    setText(this.#warnLabel, `Warning message for ${session.candidate.name}`);
    this.setStatus(session.status, session.flagged);
    this.setScore(session.suspicionScore);
    this.setConnected(session.connected);
  }

  setStatus(status: SessionStatus, flagged: boolean): void {
    this.#status = status;
    setText(this.#statusEl, status);
    this.#statusEl.dataset.status = status;
    this.element.dataset.status = status;
    this.#flag.hidden = !flagged;
    this.#syncButtons();
  }

  /** "Why this score": collapsed (no layout change); opening it reads the explanation afresh. */
  #why(id: string): HTMLElement {
    const list = el('ul', { class: 'why-list', 'data-testid': 'tile-explanation' });
    const details = el('details', { class: 'why' }, el('summary', {}, 'Why this score'), list);
    details.addEventListener('toggle', () => {
      if (!details.open || !this.#callbacks.explain) return;
      list.replaceChildren(el('li', { class: 'muted' }, 'Loading…'));
      this.#callbacks.explain(id).then(
        (items) =>
          list.replaceChildren(
            ...(items.length === 0
              ? [el('li', { class: 'muted' }, 'Nothing recorded: the score is 0.')]
              : items.map((c) =>
                  el(
                    'li',
                    {},
                    `${c.sentence}: ${c.points} pt${c.points === 1 ? '' : 's'}`,
                    c.decision === 'dismissed' ? ' (dismissed)' : '',
                  ),
                )),
          ),
        (err: unknown) =>
          list.replaceChildren(el('li', { class: 'error' }, `Could not load: ${String(err)}`)),
      );
    });
    return details;
  }

  setScore(score: number): void {
    setText(this.#score, score >= 10 ? String(Math.round(score)) : score.toFixed(1));
  }

  setConnected(connected: boolean): void {
    this.#connected = connected;
    setText(this.#connection, connected ? 'Connected' : 'Offline');
    this.#connection.dataset.connected = String(connected);
    if (connected) return;
    this.clearVideo('disconnected');
    // Faces, match and voice describe the live picture: with none, they would read as current.
    this.#clearLiveFigures();
    this.#showLastTick();
  }

  showVideo(track: MediaStreamTrack): void {
    this.#video.srcObject = new MediaStream([track]);
    this.#setPlaceholder('waiting');
  }

  clearVideo(reason: Placeholder): void {
    this.#video.srcObject = null;
    this.#setPlaceholder(reason);
  }

  /** The producer paused (camera muted): keep the consumer, say why the picture froze. */
  setVideoPaused(paused: boolean): void {
    if (paused) this.#setPlaceholder('paused');
    else if (this.#video.srcObject) this.#setPlaceholder('waiting');
  }

  playAudio(track: MediaStreamTrack | null): void {
    this.#audio.srcObject = track ? new MediaStream([track]) : null;
    this.#buttons.listen.setAttribute('aria-pressed', String(track !== null));
  }

  tick(t: AnalysisTick): void {
    this.setScore(t.score);
    // ISO times of one format sort as text.
    if (this.#lastTickAt === null || t.at > this.#lastTickAt) this.#lastTickAt = t.at;
    // A tick can trail the drop (a frame analysed just before it): it is not a live picture.
    if (!this.#connected) return this.#showLastTick();
    setText(this.#faces, t.faces === null ? '—' : String(t.faces));
    this.#faces.dataset.alert = String(t.faces !== null && t.faces !== 1);
    setText(this.#match, percent(t.identitySimilarity));
    setText(this.#voice, t.speaking === null ? '—' : t.speaking ? 'Speaking' : 'Quiet');
    setText(this.#tickTime, `Analysis ${clock(t.at)}`);
  }

  /** Offline: when the last analysis was, not as if it were current. */
  #showLastTick(): void {
    setText(
      this.#tickTime,
      this.#lastTickAt === null ? 'No analysis yet' : `Offline: last analysis ${clock(this.#lastTickAt)}`,
    );
  }

  #clearLiveFigures(): void {
    for (const figure of [this.#faces, this.#match, this.#voice]) setText(figure, '—');
    this.#faces.dataset.alert = 'false';
  }

  violation(v: Violation): void {
    const chip = this.#openViolations.get(v.id);
    if (v.endedAt === null && !chip) {
      const item = el('li', { 'data-severity': v.severity }, violationLabel(v.type));
      this.#openViolations.set(v.id, item);
      this.#open.append(item);
    } else if (v.endedAt !== null && chip) {
      chip.remove();
      this.#openViolations.delete(v.id);
    }
  }

  setError(message: string): void {
    setText(this.#error, message);
  }

  async #act(action: SessionAction, message?: string): Promise<boolean> {
    if (this.#busy) return false;
    this.#busy = true;
    this.#syncButtons();
    this.setError('');
    try {
      await this.#callbacks.action(this.sessionId, action, message);
      return true;
    } catch (err) {
      this.setError(`${action} failed: ${err instanceof Error ? err.message : String(err)}`);
      return false;
    } finally {
      this.#busy = false;
      this.#syncButtons();
    }
  }

  async #toggleListen(): Promise<void> {
    const on = this.#buttons.listen.getAttribute('aria-pressed') !== 'true';
    this.#buttons.listen.disabled = true;
    this.setError('');
    try {
      await this.#callbacks.listen(this.sessionId, on);
    } catch (err) {
      this.playAudio(null);
      this.setError(`Listen failed: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      this.#buttons.listen.disabled = false;
    }
  }

  #confirm(show: boolean): void {
    this.#actionsRow.hidden = show;
    this.#confirmRow.hidden = !show;
    (show ? this.#confirmButton : this.#buttons.terminate).focus();
  }

  #syncButtons(): void {
    const ended = isTerminal(this.#status);
    const b = this.#buttons;
    b.warn.disabled = this.#busy || ended;
    this.#warnInput.disabled = ended;
    b.pause.disabled = this.#busy || this.#status !== 'in_progress';
    b.resume.disabled = this.#busy || this.#status !== 'paused';
    b.flag.disabled = this.#busy || ended;
    b.terminate.disabled = this.#busy || ended;
    if (ended && !this.#confirmRow.hidden) {
      this.#confirmRow.hidden = true;
      this.#actionsRow.hidden = false;
    }
  }

  #setPlaceholder(reason: Placeholder): void {
    setText(this.#placeholder, PLACEHOLDER_TEXT[reason]);
    this.#placeholder.dataset.reason = reason;
    this.#placeholder.hidden = reason === 'waiting' && !this.#video.paused && this.#video.readyState >= 2;
  }
}
