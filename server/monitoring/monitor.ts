import type {
  AnalysisEngine,
  AnalysisObservation,
  AudioObservationType,
  FrameAnalysis,
  FrameObservationType,
  ObserverState,
} from '../analysis/index.js';
import {
  createObserverState,
  guidanceMessages,
  observeAudio,
  observeFrame,
  observeMissing,
  steerIdentity,
} from '../analysis/index.js';
import type { Database, SessionStatus } from '../db/index.js';
import type { EvidenceStore } from '../evidence/index.js';
import {
  isFinal,
  LivenessChallenge,
  recordVerification,
  summariseViolations,
  transitionSession,
  type ChallengePrompt,
  type ProctoringEventMap,
  type ProctoringEvents,
  type ViolationRules,
} from '../proctoring/index.js';
import type { AudioChunk, SampledFrame as VideoFrame, SamplerService } from '../sampler/index.js';
import { AppError, type Logger } from '../shared/index.js';
import { analysisPolicy, cascadeOf, tuningFor } from './analysis-knobs.js';
import { captureAudioClip, captureSnapshot } from './evidence-capture.js';
import { AudioRing } from './media-files.js';
import { loadMonitoredSession, type MonitoredSession } from './session-loader.js';

type SessionPush = 'guidance' | 'analysis:tick' | 'liveness:challenge' | 'liveness:result';

interface Watch {
  session: MonitoredSession;
  observer: ObserverState;
  lastFrame: VideoFrame | undefined;
  audio: AudioRing;
  speaking: boolean | null;
  faces: number | null;
  similarity: number | null;
  lastTickAt: number;
  score: { value: number; at: number };
  guidanceSentAt: Map<string, number>;
  challenge: LivenessChallenge | undefined;
  /** Challenges run so far, and when the last one ended (automatic retries are spaced out). */
  challengeAttempts: number;
  challengeEndedAt: number;
  livenessPassed: boolean;
  /** Frames still to embed whatever the cadence: the identity verdict is missing or wavers. */
  identityBoost: number;
}

/** One analysed frame, decided: what the benchmarks measure. */
export interface Decision {
  tenantId: string;
  sessionId: string;
  /** The frame's arrival at the server → its decision (rules, evidence, gate) taken. */
  latencyMs: number;
  /** Observing, rules, guidance, challenge and gate for this frame, on the main thread. */
  decideMs: number;
  analysis: FrameAnalysis;
}

export interface MonitorOptions {
  db: Database;
  events: ProctoringEvents;
  rules: ViolationRules;
  engine: AnalysisEngine;
  sampler: SamplerService;
  evidenceStore: EvidenceStore;
  logger: Logger;
  /** Called once each analysed frame has been decided on (the benches read it). */
  onDecision?: (decision: Decision) => void;
}

const tickEveryMs = 1000;
const guidanceRepeatMs = 15_000;
const scoreRefreshMs = 5000;
const audioEvidenceSeconds = 6;
const maxAutomaticChallenges = 3;
const challengeRetryMs = 5000;

/**
 * The continuous analysis loop: sampled frames and audio of every live candidate go through the
 * analysis engine; observations go to the rules (violations, with a snapshot or audio clip as
 * evidence), capture problems to the candidate as guidance, a summary to proctors once a second;
 * it also runs liveness challenges and the verification gate.
 */
export class Monitor {
  readonly #options: MonitorOptions;
  readonly #watches = new Map<string, Promise<Watch | undefined>>();
  readonly #timer: NodeJS.Timeout;
  readonly #unsubscribe: (() => void)[] = [];
  #closed = false;

  constructor(options: MonitorOptions) {
    this.#options = options;
    const { sampler } = options;
    const onFrame = (frame: VideoFrame) =>
      void this.#onFrame(frame).catch((error: unknown) => this.#fail(error, frame.sessionId));
    const onAudio = (chunk: AudioChunk) =>
      void this.#onAudio(chunk).catch((error: unknown) => this.#fail(error, chunk.sessionId));
    sampler.on('frame', onFrame);
    sampler.on('audio', onAudio);
    this.#unsubscribe.push(
      () => sampler.off('frame', onFrame),
      () => sampler.off('audio', onAudio),
    );
    const onStatus = ({ sessionId, status }: { sessionId: string; status: SessionStatus }) => {
      if (isFinal(status)) this.#forget(sessionId);
      else void this.#watches.get(sessionId)?.then((watch) => watch && (watch.session.status = status));
    };
    options.events.on('session:status', onStatus);
    this.#unsubscribe.push(() => options.events.off('session:status', onStatus));
    this.#timer = setInterval(() => this.#onSecond(), 1000);
    this.#timer.unref();
  }

  /** Starts (or repeats the current prompt of) the session's liveness challenge. */
  async startLiveness(sessionId: string): Promise<ChallengePrompt> {
    const watch = await this.#watch(sessionId);
    if (!watch) throw new AppError('not_found', 'no live media for this session yet: join first');
    if (watch.challenge && !watch.challenge.finished) return watch.challenge.prompt();
    watch.challenge = new LivenessChallenge(Date.now());
    watch.challengeAttempts += 1;
    this.#options.sampler.challenge(sessionId, true);
    const prompt = watch.challenge.prompt();
    this.#emitSession(watch, 'liveness:challenge', prompt);
    return prompt;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    for (const stop of this.#unsubscribe) stop();
    this.#watches.clear();
  }

  #watch(sessionId: string): Promise<Watch | undefined> {
    let watch = this.#watches.get(sessionId);
    if (!watch) {
      watch = loadMonitoredSession(this.#options.db, sessionId).then((session) =>
        session
          ? {
              session,
              observer: createObserverState({
                reference: session.reference,
                tuning: tuningFor(analysisPolicy(session.policy)),
              }),
              lastFrame: undefined,
              audio: new AudioRing(16_000 * audioEvidenceSeconds),
              speaking: null,
              faces: null,
              similarity: null,
              lastTickAt: 0,
              score: { value: 0, at: 0 },
              guidanceSentAt: new Map(),
              challenge: undefined,
              challengeAttempts: 0,
              challengeEndedAt: 0,
              livenessPassed: false,
              identityBoost: 0,
            }
          : undefined,
      );
      this.#watches.set(sessionId, watch);
      watch.catch(() => this.#watches.delete(sessionId));
    }
    return watch;
  }

  async #onFrame(frame: VideoFrame): Promise<void> {
    const watch = await this.#watch(frame.sessionId);
    if (!watch || this.#closed) return;
    watch.lastFrame = frame;
    const { session } = watch;
    const knobs = analysisPolicy(session.policy);
    const result = await this.#options.engine.analyseFrame(
      frame.sessionId,
      { width: frame.width, height: frame.height, data: frame.data, at: frame.at },
      {
        objects: true,
        identity: session.reference !== null,
        cascade: knobs.cascade ? cascadeOf(knobs) : null,
        // The gate waits on identity, and a wavering verdict is settled at once.
        forceIdentity: session.status === 'verifying' || watch.identityBoost > 0,
        forceAntispoof: watch.challenge !== undefined && !watch.challenge.finished,
      },
    );
    if (result.dropped || this.#closed) return;
    const decideFrom = performance.now();
    const observed = observeFrame(watch.observer, result, session.policy);
    if (session.reference !== null) {
      watch.identityBoost = steerIdentity(watch.identityBoost, result, observed.identity, {
        threshold: session.policy.identity.matchThreshold,
        burstFrames: knobs.identityBurstFrames,
      });
    }
    watch.faces = observed.faces;
    watch.similarity = observed.identity.similarity;
    for (const observation of observed.observations) {
      this.#report(watch, observation, () => captureSnapshot(this.#options, watch));
    }
    this.#guide(watch, observed.guidance);
    this.#autoChallenge(watch);
    this.#feedChallenge(watch, result);
    await this.#gate(watch);
    this.#options.onDecision?.({
      tenantId: session.tenantId,
      sessionId: frame.sessionId,
      latencyMs: Date.now() - frame.at,
      decideMs: performance.now() - decideFrom,
      analysis: result,
    });
    await this.#tick(watch, frame.at);
  }

  async #onAudio(chunk: AudioChunk): Promise<void> {
    const watch = await this.#watch(chunk.sessionId);
    if (!watch || this.#closed) return;
    watch.audio.push(chunk.pcm);
    const knobs = analysisPolicy(watch.session.policy);
    const result = await this.#options.engine.analyseAudio(chunk.sessionId, chunk.pcm, chunk.at, {
      gateDbfs: knobs.cascade ? knobs.vadGateDbfs : null,
    });
    if (result.dropped || this.#closed) return;
    const observations = observeAudio(watch.observer, result);
    for (const observation of observations) {
      if (observation.type === 'talking') watch.speaking = observation.active;
      this.#report(watch, observation, () => captureAudioClip(this.#options, watch));
    }
  }

  #report(
    watch: Watch,
    observation: AnalysisObservation<FrameObservationType | AudioObservationType>,
    evidence: () => Promise<string[]>,
  ): void {
    const { type, active, confidence, details } = observation;
    this.#options.rules.report(watch.session, type, active, {
      confidence,
      details,
      evidence,
      origin: 'analysis',
    });
  }

  #guide(watch: Watch, codes: readonly (keyof typeof guidanceMessages)[]): void {
    const now = Date.now();
    for (const code of codes) {
      const last = watch.guidanceSentAt.get(code) ?? 0;
      if (now - last < guidanceRepeatMs) continue;
      watch.guidanceSentAt.set(code, now);
      this.#emitSession(watch, 'guidance', { code, message: guidanceMessages[code] });
    }
  }

  /**
   * An exam that requires liveness runs the challenge by itself while the session is being
   * verified (the page only shows the prompts), retrying a failed one a few times.
   */
  #autoChallenge(watch: Watch): void {
    const { session } = watch;
    if (session.status !== 'verifying' || !session.policy.liveness.required || watch.livenessPassed) return;
    if (watch.challenge && !watch.challenge.finished) return;
    if (watch.challengeAttempts >= maxAutomaticChallenges) return;
    if (Date.now() - watch.challengeEndedAt < challengeRetryMs) return;
    void this.startLiveness(session.sessionId).catch((error: unknown) =>
      this.#fail(error, session.sessionId),
    );
  }

  #feedChallenge(watch: Watch, result: FrameAnalysis): void {
    const challenge = watch.challenge;
    if (!challenge || challenge.finished) return;
    const face = result.faces.length === 1 ? result.faces[0] : undefined;
    const outcome = challenge.feed({
      at: result.at,
      faces: result.faces.length,
      yaw: face ? face.yaw : null,
      eyesOpen: face ? face.eyesOpen : null,
    });
    this.#onChallengeOutcome(watch, outcome);
  }

  #onChallengeOutcome(watch: Watch, outcome: ReturnType<LivenessChallenge['feed']>): void {
    if (outcome.kind === 'pending') return;
    if (outcome.kind === 'next') {
      this.#emitSession(watch, 'liveness:challenge', outcome.prompt);
      return;
    }
    this.#options.sampler.challenge(watch.session.sessionId, false);
    watch.challengeEndedAt = Date.now();
    const passed = outcome.kind === 'passed';
    watch.livenessPassed = passed;
    const details = passed ? { steps: outcome.steps } : { step: outcome.step, reason: outcome.reason };
    const at = new Date().toISOString();
    this.#emitSession(watch, 'liveness:result', { passed, details });
    // A failed challenge stores its violation first, so a client that reads the failed
    // verification always finds the violation beside it.
    const violationStored = passed
      ? Promise.resolve()
      : this.#options.rules.instant(watch.session, 'liveness_failed', {
          confidence: 0.9,
          details,
          evidence: () => captureSnapshot(this.#options, watch),
        });
    void violationStored
      .then(() =>
        recordVerification(
          this.#options.db,
          { tenantId: watch.session.tenantId, sessionId: watch.session.sessionId, actor: 'system:analysis' },
          'liveness',
          { status: passed ? 'passed' : 'failed', at, ...details },
        ),
      )
      .catch((error: unknown) => this.#fail(error, watch.session.sessionId));
  }

  /** `verifying` → `in_progress` once identity matched and, if required, liveness passed. */
  async #gate(watch: Watch): Promise<void> {
    const { session } = watch;
    if (session.status !== 'verifying') return;
    const identityOk =
      !session.policy.identity.required ||
      session.reference === null ||
      (watch.similarity !== null && watch.similarity >= session.policy.identity.matchThreshold);
    const livenessOk = !session.policy.liveness.required || watch.livenessPassed;
    if (!identityOk || !livenessOk) return;
    session.status = 'in_progress';
    const ref = { tenantId: session.tenantId, sessionId: session.sessionId, actor: 'system:analysis' };
    if (session.reference !== null && watch.similarity !== null) {
      await recordVerification(this.#options.db, ref, 'identity', {
        status: 'passed',
        similarity: Math.round(watch.similarity * 1000) / 1000,
        at: new Date().toISOString(),
      });
    }
    await transitionSession(
      this.#options.db,
      this.#options.events,
      { ...ref, reason: 'verified' },
      'in_progress',
    );
  }

  async #tick(watch: Watch, frameAt: number): Promise<void> {
    const now = Date.now();
    if (now - watch.lastTickAt < tickEveryMs) return;
    watch.lastTickAt = now;
    if (now - watch.score.at > scoreRefreshMs) {
      const summary = await summariseViolations(this.#options.db, [watch.session.sessionId]);
      watch.score = { value: summary.get(watch.session.sessionId)?.suspicionScore ?? 0, at: now };
    }
    this.#emitSession(watch, 'analysis:tick', {
      at: new Date(now).toISOString(),
      frameAt,
      faces: watch.faces,
      identitySimilarity: watch.similarity === null ? null : Math.round(watch.similarity * 1000) / 1000,
      speaking: watch.speaking,
      score: watch.score.value,
    });
  }

  #onSecond(): void {
    const now = Date.now();
    for (const pending of this.#watches.values()) {
      void pending.then((watch) => {
        if (!watch) return;
        const missing = observeMissing(watch.observer, now);
        // No frame to show: the evidence of missing frames is their absence (details say how long).
        if (missing) this.#report(watch, missing, () => Promise.resolve([]));
        if (watch.challenge) this.#onChallengeOutcome(watch, watch.challenge.expire(now));
      });
    }
  }

  #emitSession<Name extends SessionPush>(
    watch: Watch,
    name: Name,
    payload: Omit<ProctoringEventMap[Name][0], 'tenantId' | 'examId' | 'sessionId'>,
  ): void {
    const ref = {
      tenantId: watch.session.tenantId,
      examId: watch.session.examId,
      sessionId: watch.session.sessionId,
    };
    // One generic emit for four event shapes; each call site is checked against the map above.
    (this.#options.events as NodeJS.EventEmitter).emit(name, { ...ref, ...payload });
  }

  #forget(sessionId: string): void {
    this.#watches.delete(sessionId);
    this.#options.engine.releaseStream(sessionId);
  }

  #fail(error: unknown, sessionId: string): void {
    // Work still in flight when the service stops fails with the engine; that is not news.
    if (this.#closed) return;
    this.#options.logger.error({ err: error, sessionId }, 'analysis of a session failed');
  }
}
