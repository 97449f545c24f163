/**
 * Review: every session of the exam, live or ended, most suspicious first; opening one shows
 * its verification, its violations in order and their evidence. Reads the REST API only, so
 * it works after the exam, when no stream is left to watch.
 */
import { messageItem, noteItem, type NoteLike } from '../shared/chat.js';
import { byId, el, setText } from '../shared/dom.js';
import { clock, dateTime, percent, violationLabel } from '../shared/format.js';
import type { LiveSession, MessageView, Violation } from '../shared/protocol.js';
import { errorText } from '../shared/socket.js';
import type { Auth } from './auth.js';
import type { EvidenceViewer } from './evidence.js';
import { submitNote } from './note-form.js';
import type { Decision, SessionReportView } from './report-types.js';
import { ReviewDecisions } from './review-decisions.js';
import { ReviewQueue } from './review-queue.js';
import { scorePlot } from './score-plot.js';

type SessionRecord = Omit<LiveSession, 'candidate' | 'connected' | 'producers'>;
interface CandidateRecord {
  id: string;
  name: string;
  externalId: string;
}
interface Verification {
  identity?: { status?: string; similarity?: number };
  liveness?: { status?: string };
}

export class Review {
  readonly #auth: Auth;
  readonly #examId: string;
  readonly #viewer: EvidenceViewer;
  readonly #rows = byId('review-rows', HTMLTableSectionElement);
  readonly #status = byId('review-status', HTMLElement);
  readonly #detail = byId('review-detail', HTMLElement);
  readonly #detailTitle = byId('detail-title', HTMLElement);
  readonly #facts = byId('detail-facts', HTMLElement);
  readonly #violations = byId('detail-violations', HTMLOListElement);
  readonly #messages = byId('detail-messages', HTMLOListElement);
  readonly #notes = byId('detail-notes', HTMLOListElement);
  readonly #noteText = byId('detail-note-text', HTMLTextAreaElement);
  readonly #noteSave = byId('detail-note-save', HTMLButtonElement);
  readonly #noteError = byId('detail-note-error', HTMLElement);
  readonly #plot = byId('detail-plot', HTMLElement);
  readonly #explanation = byId('detail-explanation', HTMLOListElement);
  readonly #queue: ReviewQueue;
  readonly #decisions: ReviewDecisions;
  #names = new Map<string, CandidateRecord>();
  /** The session the detail shows (notes are added to it). */
  #current: string | null = null;

  constructor(options: { auth: Auth; examId: string; viewer: EvidenceViewer }) {
    this.#auth = options.auth;
    this.#examId = options.examId;
    this.#viewer = options.viewer;
    this.#queue = new ReviewQueue({ ...options, open: (id) => void this.open(id) });
    this.#decisions = new ReviewDecisions(options.auth);
    byId('session-confirm', HTMLButtonElement).addEventListener(
      'click',
      () => void this.#decide(null, 'confirmed'),
    );
    byId('session-dismiss', HTMLButtonElement).addEventListener(
      'click',
      () => void this.#decide(null, 'dismissed'),
    );
    byId('decision-form', HTMLFormElement).addEventListener('submit', (event) => event.preventDefault());
    byId('detail-note-form', HTMLFormElement).addEventListener('submit', (event) => {
      event.preventDefault();
      void this.#saveNote();
    });
  }

  async load(): Promise<void> {
    setText(this.#status, 'Loading sessions…');
    void this.#queue.load();
    try {
      const [sessions, candidates] = await Promise.all([
        this.#auth.json<SessionRecord[]>('GET', `/api/v1/exams/${this.#examId}/sessions`),
        this.#auth.json<CandidateRecord[]>('GET', `/api/v1/exams/${this.#examId}/candidates`),
      ]);
      this.#names = new Map(candidates.map((candidate) => [candidate.id, candidate]));
      const ordered = [...sessions].sort(
        (a, b) => b.suspicionScore - a.suspicionScore || b.createdAt.localeCompare(a.createdAt),
      );
      this.#rows.replaceChildren(...ordered.map((session) => this.#row(session)));
      setText(
        this.#status,
        ordered.length === 0
          ? 'No sessions yet.'
          : `${ordered.length} session${ordered.length === 1 ? '' : 's'}, most suspicious first.`,
      );
    } catch (err) {
      setText(this.#status, `Sessions could not be loaded: ${errorText(err)}`);
    }
  }

  #name(session: SessionRecord): string {
    return this.#names.get(session.candidateId)?.name ?? 'Unknown candidate';
  }

  #row(session: SessionRecord): HTMLTableRowElement {
    const name = this.#name(session);
    const open = el('button', { type: 'button', 'aria-label': `Open the session of ${name}` }, 'Open');
    open.addEventListener('click', () => void this.open(session.id));
    const count = Object.values(session.violationCounts).reduce((sum, n) => sum + n, 0);
    return el(
      'tr',
      { 'data-testid': 'review-row', 'data-session': session.id, 'data-status': session.status },
      el('th', { scope: 'row' }, name, session.flagged ? el('span', { class: 'flag' }, ' (flagged)') : null),
      el('td', {}, el('span', { class: 'status-word' }, session.status)),
      el('td', { class: 'number' }, session.suspicionScore.toFixed(1)),
      el('td', { class: 'number' }, String(count)),
      el('td', {}, session.endedAt ? dateTime(session.endedAt) : '—'),
      el('td', {}, open),
    );
  }

  /** Shows one session's record and moves the focus to it. */
  async open(sessionId: string): Promise<void> {
    this.#detail.hidden = false;
    this.#current = sessionId;
    setText(this.#noteError, '');
    setText(this.#detailTitle, 'Loading…');
    this.#facts.replaceChildren();
    this.#violations.replaceChildren();
    this.#messages.replaceChildren();
    this.#notes.replaceChildren();
    this.#plot.replaceChildren();
    this.#explanation.replaceChildren();
    this.#decisions.clear();
    try {
      const [session, violations, messages, notes, report] = await Promise.all([
        this.#auth.json<SessionRecord>('GET', `/api/v1/sessions/${sessionId}`),
        this.#auth.json<Violation[]>('GET', `/api/v1/sessions/${sessionId}/violations`),
        this.#auth.json<MessageView[]>('GET', `/api/v1/sessions/${sessionId}/messages`),
        this.#auth.json<NoteLike[]>('GET', `/api/v1/sessions/${sessionId}/notes`),
        this.#auth.json<SessionReportView>('GET', `/api/v1/sessions/${sessionId}/report`),
      ]);
      const name = this.#name(session);
      setText(this.#detailTitle, `Session of ${name}`);
      this.#facts.replaceChildren(...facts(session));
      this.#explain(report);
      this.#violations.replaceChildren(
        ...(violations.length === 0
          ? [el('li', { class: 'muted' }, 'No violations in this session.')]
          : violations.map((violation) =>
              this.#violation(
                violation,
                name,
                report.violations.find((v) => v.id === violation.id)?.decision,
              ),
            )),
      );
      this.#messages.replaceChildren(
        ...(messages.length === 0
          ? [el('li', { class: 'muted' }, 'No messages in this session.')]
          : messages.map((m) => messageItem(m, m.from === 'candidate' ? name : 'Proctor'))),
      );
      this.#notes.replaceChildren(
        ...(notes.length === 0 ? [el('li', { class: 'muted' }, 'No notes.')] : notes.map(noteItem)),
      );
    } catch (err) {
      setText(this.#detailTitle, `The session could not be loaded: ${errorText(err)}`);
    }
    this.#detailTitle.focus();
  }

  /** Notes outlive the session: a reviewer adds what they concluded. */
  async #saveNote(): Promise<void> {
    const sessionId = this.#current;
    if (!sessionId) return;
    this.#noteSave.disabled = true;
    const note = await submitNote(this.#auth, sessionId, this.#noteText, this.#noteError);
    this.#noteSave.disabled = false;
    if (!note || this.#current !== sessionId) return;
    this.#notes.querySelector('li.muted')?.remove();
    this.#notes.append(noteItem(note));
    this.#noteText.value = '';
  }

  /** The score explained: its plot and each violation's sentence and points. */
  #explain(report: SessionReportView): void {
    const accommodations = report.accommodations.description;
    this.#facts.append(
      el(
        'div',
        { 'data-testid': 'accommodations' },
        el('dt', {}, 'Accommodations'),
        el('dd', {}, accommodations.length > 0 ? accommodations.join('; ') : 'none'),
      ),
    );
    this.#plot.replaceChildren(scorePlot(report));
    const items = report.explanation.contributions;
    this.#explanation.replaceChildren(
      ...(items.length === 0
        ? [el('li', { class: 'muted' }, 'Nothing was recorded: the score is 0.')]
        : items.map((c) =>
            el(
              'li',
              { 'data-testid': 'explanation', 'data-type': c.type },
              el('strong', {}, c.sentence),
              el(
                'span',
                { class: 'muted' },
                ` · ${c.points} point${c.points === 1 ? '' : 's'} (${c.severity}, weight ${c.weight} × confidence ${percent(c.confidence)})`,
                c.decision === 'dismissed' ? ' · dismissed, not counted' : '',
              ),
            ),
          )),
      el('li', { class: 'muted' }, `Score ${report.explanation.score}: the sum of the points, at most 100.`),
    );
  }

  async #decide(violationId: string | null, decision: Decision): Promise<void> {
    const sessionId = this.#current;
    if (!sessionId || !(await this.#decisions.decide(sessionId, violationId, decision))) return;
    // The list reload also reloads the queue.
    await Promise.all([this.open(sessionId), this.#reloadRows()]);
  }

  /** The session list again (scores change with decisions), without moving the focus. */
  async #reloadRows(): Promise<void> {
    const status = this.#status.textContent ?? '';
    await this.load();
    setText(this.#status, status);
  }

  #violation(v: Violation, name: string, decision?: Decision | null): HTMLLIElement {
    const label = violationLabel(v.type);
    const evidence = v.evidence.map((item, index) => {
      if (item.purgedAt) {
        return el('span', { class: 'muted' }, `${item.kind} ${index + 1} deleted (retention)`);
      }
      const button = el('button', { type: 'button', class: 'link' }, `${item.kind} ${index + 1}`);
      button.addEventListener('click', () => void this.#viewer.open(item, `${label} — ${name}`));
      return button;
    });
    return el(
      'li',
      { 'data-testid': 'review-violation', 'data-type': v.type, 'data-severity': v.severity },
      el('strong', {}, label),
      el(
        'span',
        { class: 'muted' },
        ` · ${v.severity} · ${v.source === 'server' ? 'seen in the stream' : 'reported by the page'}`,
        ` · ${clock(v.startedAt)}–${v.endedAt ? clock(v.endedAt) : 'still open'}`,
        ` · confidence ${percent(v.confidence)}`,
      ),
      evidence.length > 0 ? el('span', { class: 'evidence-links' }, ' ', ...evidence) : null,
      el(
        'span',
        { class: 'decision', 'data-testid': 'decision', 'data-decision': decision ?? 'none' },
        decision ? ` · ${decision}` : ' · not reviewed',
      ),
      this.#decideButtons(v, label),
    );
  }

  #decideButtons(v: Violation, label: string): HTMLElement {
    const button = (decision: Decision, text: string) => {
      const node = el(
        'button',
        {
          type: 'button',
          'data-testid': `decide-${decision}`,
          'aria-label': `${text}: ${label} at ${clock(v.startedAt)}`,
        },
        text,
      );
      node.addEventListener('click', () => void this.#decide(v.id, decision));
      return node;
    };
    return el(
      'span',
      { class: 'decide-buttons' },
      button('confirmed', 'Confirm'),
      button('dismissed', 'Dismiss'),
    );
  }
}

function facts(session: SessionRecord): HTMLElement[] {
  const verification = (session.verification ?? {}) as Verification;
  const identity = verification.identity
    ? `${verification.identity.status ?? '—'}${
        typeof verification.identity.similarity === 'number'
          ? ` (similarity ${verification.identity.similarity.toFixed(2)})`
          : ''
      }`
    : 'not checked';
  const pairs: [string, string][] = [
    ['Status', session.status],
    ['Suspicion score', session.suspicionScore.toFixed(1)],
    ['Flagged', session.flagged ? 'yes' : 'no'],
    ['Started', session.startedAt ? dateTime(session.startedAt) : '—'],
    ['Ended', session.endedAt ? dateTime(session.endedAt) : '—'],
    ['Identity', identity],
    ['Liveness', verification.liveness?.status ?? 'not checked'],
  ];
  return pairs.map(([term, value]) => el('div', {}, el('dt', {}, term), el('dd', {}, value)));
}
