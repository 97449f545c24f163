import type { Database, ViolationSource, ViolationType } from '../db/index.js';
import { AppError, backoffMs, isUnavailable, type Logger } from '../shared/index.js';
import type { ProctoringEvents } from './events.js';
import type { Policy } from './policy.js';
import { exemptionsOfSession } from './profiles.js';
import { closeViolation, openViolation } from './violations.js';

export interface SessionContext {
  tenantId: string;
  examId: string;
  sessionId: string;
  policy: Policy;
}

type SessionRef = Pick<SessionContext, 'tenantId' | 'examId' | 'sessionId'>;

export interface Observation {
  confidence?: number;
  details?: Record<string, unknown>;
  /** Stores evidence (e.g. a snapshot of the latest frame) when the violation opens. */
  evidence?: () => Promise<string[]>;
  source?: ViolationSource;
  /**
   * Who reports the condition, when several watch one type (the SFU sees a camera stream stop,
   * the analysis sees a black picture): each origin has its own on/off state.
   */
  origin?: string;
}

/** How long a condition must hold before a violation opens, and be gone before it closes. */
export interface Timing {
  openAfterMs: number;
  closeAfterMs: number;
}

const defaultTiming: Timing = { openAfterMs: 0, closeAfterMs: 0 };

/** Defaults per type; an exam policy's `rules` override them. */
export const defaultTimings: Partial<Record<ViolationType, Timing>> = {
  camera_off: { openAfterMs: 3000, closeAfterMs: 2000 },
  mic_off: { openAfterMs: 3000, closeAfterMs: 2000 },
  connection_lost: { openAfterMs: 10_000, closeAfterMs: 0 },
  no_face: { openAfterMs: 3000, closeAfterMs: 2000 },
  multiple_faces: { openAfterMs: 2000, closeAfterMs: 3000 },
  looking_away: { openAfterMs: 5000, closeAfterMs: 2000 },
  face_mismatch: { openAfterMs: 5000, closeAfterMs: 5000 },
  phone_detected: { openAfterMs: 1000, closeAfterMs: 3000 },
  talking: { openAfterMs: 3000, closeAfterMs: 3000 },
  noise: { openAfterMs: 3000, closeAfterMs: 3000 },
};

/**
 * Conditions a page that left explains: its camera and microphone stop because it is gone, which
 * is `connection_lost` (one cause, one violation), not also `camera_off` / `mic_off`.
 */
const explainedByLostPage: ReadonlySet<ViolationType> = new Set(['camera_off', 'mic_off']);

/** A candidate's accommodations are read again this often, so a change applies mid-session. */
const exemptionsTtlMs = 30_000;

interface ConditionState {
  /** Each origin's latest report; the condition holds while any origin says it does. */
  origins: Map<string, boolean>;
  active: boolean;
  /** What the report that made the condition hold said (details, evidence for the violation). */
  observation: Observation;
  violationId: string | null;
  timer: NodeJS.Timeout | null;
  /** Serialises open/close writes for one condition. */
  pending: Promise<void>;
}

/**
 * The decision step: turns "condition X holds / is gone" reports into violations with
 * hysteresis per type, so a flicker neither opens nor closes anything. Each opened violation
 * is persisted (with its audit entry) before it is announced.
 */
export class ViolationRules {
  readonly #db: Database;
  readonly #events: ProctoringEvents;
  readonly #logger: Logger;
  readonly #states = new Map<string, ConditionState>();
  /** Sessions whose page is gone (connection_lost holds), whatever the violation's countdown. */
  readonly #lostPages = new Set<string>();
  /** Per session: the types its candidate's accessibility profile switches off (cached). */
  readonly #exemptions = new Map<string, { at: number; types: Promise<Set<ViolationType>> }>();
  readonly #timingOverride: Partial<Record<ViolationType, Timing>>;
  #closed = false;

  constructor(options: {
    db: Database;
    events: ProctoringEvents;
    logger: Logger;
    /** Shorter timings, e.g. for tests; the exam policy still wins. */
    timings?: Partial<Record<ViolationType, Timing>>;
  }) {
    this.#db = options.db;
    this.#events = options.events;
    this.#logger = options.logger;
    this.#timingOverride = options.timings ?? {};
  }

  /**
   * Reports whether `type`'s condition holds now for the session. Several origins (the SFU, the
   * analysis) may watch one type: they share one violation, open while any of them holds.
   */
  report(session: SessionContext, type: ViolationType, active: boolean, observation: Observation = {}): void {
    const state = this.#state(session, type);
    if (!state) return;
    state.origins.set(observation.origin ?? '', active);
    const holds = [...state.origins.values()].some(Boolean);
    if (holds === state.active) return;
    state.active = holds;
    if (holds) state.observation = observation;
    if (type === 'connection_lost') this.#pageLost(session, holds);
    this.#decide(session, type, state);
  }

  /**
   * Records a one-off event (e.g. a paste): a violation that opens and closes at once,
   * without touching the condition state of that type. The promise settles once it is
   * stored (failures are logged, never thrown), so callers can order later writes after it.
   */
  instant(session: SessionContext, type: ViolationType, observation: Observation = {}): Promise<void> {
    const state = this.#state(session, type);
    if (!state) return Promise.resolve();
    this.#after(state, 0, async () => {
      if (await this.#exempt(session, type)) return;
      const view = await this.#persist(session, type, observation);
      await closeViolation(this.#db, this.#events, {
        tenantId: session.tenantId,
        examId: session.examId,
        violationId: view.id,
      });
    });
    return state.pending;
  }

  /** Whether a violation of `type` is open for the session (as decided here). */
  isOpen(sessionId: string, type: ViolationType): boolean {
    return !!this.#states.get(`${sessionId}:${type}`)?.violationId;
  }

  /** Forgets a session (it ended): pending timers are cancelled, open violations are closed. */
  async endSession(session: SessionRef): Promise<void> {
    const work: Promise<void>[] = [];
    for (const [key, state] of this.#states) {
      if (!key.startsWith(`${session.sessionId}:`)) continue;
      if (state.timer) clearTimeout(state.timer);
      state.active = false;
      if (state.violationId) work.push(this.#close(session, state));
      this.#states.delete(key);
    }
    this.#lostPages.delete(session.sessionId);
    this.#exemptions.delete(session.sessionId);
    await Promise.all(work);
  }

  /** Cancels every timer (service shutdown). */
  close(): void {
    this.#closed = true;
    for (const state of this.#states.values()) if (state.timer) clearTimeout(state.timer);
    this.#states.clear();
    this.#lostPages.clear();
    this.#exemptions.clear();
  }

  /**
   * Whether the candidate's accessibility profile switches `type` off (e.g. gazeExempt:
   * looking_away). Decided when a violation would open, so the condition's timing is unchanged.
   */
  async #exempt(session: SessionRef, type: ViolationType): Promise<boolean> {
    const now = Date.now();
    let cached = this.#exemptions.get(session.sessionId);
    if (!cached || now - cached.at > exemptionsTtlMs) {
      cached = { at: now, types: exemptionsOfSession(this.#db, session.sessionId) };
      this.#exemptions.set(session.sessionId, cached);
      // A failed read is not kept: the next violation asks again.
      cached.types.catch(() => this.#exemptions.delete(session.sessionId));
    }
    return (await cached.types).has(type);
  }

  /**
   * Whether the condition counts now: it holds, and no other cause explains it (a page that left
   * explains its media stopping).
   */
  #counts(session: SessionRef, type: ViolationType, state: ConditionState): boolean {
    return state.active && !(explainedByLostPage.has(type) && this.#lostPages.has(session.sessionId));
  }

  /** Starts the open or close countdown that the condition's state now calls for. */
  #decide(session: SessionContext, type: ViolationType, state: ConditionState): void {
    if (state.timer) clearTimeout(state.timer);
    state.timer = null;
    const counts = this.#counts(session, type, state);
    const timing = this.#timing(session, type);
    if (counts && !state.violationId) {
      this.#after(state, timing.openAfterMs, () => this.#open(session, type, state));
    } else if (!counts && state.violationId) {
      // A media violation explained by the page leaving ends at once, where connection_lost begins.
      const delay = state.active ? 0 : timing.closeAfterMs;
      this.#after(state, delay, () => this.#close(session, state, type));
    }
  }

  /** The page left (or came back): the conditions it explains are decided again. */
  #pageLost(session: SessionContext, lost: boolean): void {
    if (lost) this.#lostPages.add(session.sessionId);
    else this.#lostPages.delete(session.sessionId);
    for (const type of explainedByLostPage) {
      const state = this.#states.get(`${session.sessionId}:${type}`);
      if (state) this.#decide(session, type, state);
    }
  }

  /** The condition's state, or undefined when the exam's policy switched the type off. */
  #state(session: SessionContext, type: ViolationType): ConditionState | undefined {
    if (session.policy.rules[type]?.enabled === false) return undefined;
    const key = `${session.sessionId}:${type}`;
    let state = this.#states.get(key);
    if (!state) {
      state = {
        origins: new Map(),
        active: false,
        observation: {},
        violationId: null,
        timer: null,
        pending: Promise.resolve(),
      };
      this.#states.set(key, state);
    }
    return state;
  }

  #timing(session: SessionContext, type: ViolationType): Timing {
    const base = this.#timingOverride[type] ?? defaultTimings[type] ?? defaultTiming;
    const rule = session.policy.rules[type];
    return {
      openAfterMs: rule?.openAfterSeconds !== undefined ? rule.openAfterSeconds * 1000 : base.openAfterMs,
      closeAfterMs: rule?.closeAfterSeconds !== undefined ? rule.closeAfterSeconds * 1000 : base.closeAfterMs,
    };
  }

  #after(state: ConditionState, delayMs: number, action: () => Promise<void>): void {
    const run = () => {
      state.timer = null;
      state.pending = state.pending
        .then(() => this.#untilStored(action))
        .catch((error: unknown) => {
          // A condition that outlived its session (ended while the timer ran) has nowhere to go.
          if (error instanceof AppError && error.code === 'session_ended') {
            this.#logger.debug({ err: error }, 'violation not recorded: the session has ended');
          } else {
            this.#logger.error({ err: error }, 'recording a violation failed');
          }
        });
    };
    if (delayMs <= 0) run();
    else {
      state.timer = setTimeout(run, delayMs);
      state.timer.unref();
    }
  }

  /**
   * Runs a write, again and again while the database is away (backing off to 10 s), so a
   * violation seen during an outage is stored, and then announced, once it is back.
   */
  async #untilStored(action: () => Promise<void>): Promise<void> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await action();
      } catch (error) {
        if (this.#closed || !isUnavailable(error)) throw error;
        this.#logger.warn({ err: error, attempt }, 'database unavailable; the violation write is retried');
        await new Promise((resolve) =>
          setTimeout(resolve, backoffMs(attempt, { minMs: 250, maxMs: 10_000 })),
        );
      }
    }
  }

  async #open(session: SessionContext, type: ViolationType, state: ConditionState): Promise<void> {
    if (!this.#counts(session, type, state) || state.violationId) return;
    if (await this.#exempt(session, type)) return;
    const view = await this.#persist(session, type, state.observation);
    state.violationId = view.id;
    // The condition may have cleared (or been explained) while we were writing: decide again.
    if (!this.#counts(session, type, state) && !state.timer) this.#decide(session, type, state);
  }

  async #persist(session: SessionContext, type: ViolationType, observation: Observation) {
    let evidenceIds: string[] = [];
    try {
      evidenceIds = (await observation.evidence?.()) ?? [];
    } catch (error) {
      // A violation without its snapshot beats no violation.
      this.#logger.warn({ err: error, type }, 'could not store evidence for a violation');
    }
    return openViolation(this.#db, this.#events, {
      tenantId: session.tenantId,
      examId: session.examId,
      sessionId: session.sessionId,
      type,
      source: observation.source ?? 'server',
      confidence: observation.confidence ?? 1,
      severity: session.policy.rules[type]?.severity,
      details: observation.details,
      evidenceIds,
    });
  }

  /** Closes the condition's violation unless it counts again (no `type`: the session ended). */
  async #close(session: SessionRef, state: ConditionState, type?: ViolationType): Promise<void> {
    if (!state.violationId) return;
    if (type ? this.#counts(session, type, state) : state.active) return;
    const violationId = state.violationId;
    state.violationId = null;
    await closeViolation(this.#db, this.#events, {
      tenantId: session.tenantId,
      examId: session.examId,
      violationId,
    });
  }
}
