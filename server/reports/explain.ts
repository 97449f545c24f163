/**
 * The suspicion score explained: what each violation adds (its severity weight times its
 * confidence, the same formula the score uses), the score over time, and one sentence a person
 * understands per violation. Pure functions over stored rows, shared by the report, the review
 * view and the candidate's outcome page.
 */
import type { ReviewDecision, Severity } from '../db/index.js';
import type { ViolationView } from '../proctoring/index.js';

/** Kept equal to the score's weights (proctoring/violations.ts `severityWeight`). */
export type SeverityWeights = Record<Severity, number>;

export interface Contribution {
  violationId: string;
  type: string;
  severity: string;
  /** Points at confidence 1 for this severity. */
  weight: number;
  confidence: number;
  /** Null while the violation is still open. */
  durationSeconds: number | null;
  /** Points this violation adds to the score now (0 when a reviewer dismissed it). */
  points: number;
  decision: ReviewDecision | null;
  sentence: string;
}

export interface ScorePoint {
  at: string;
  score: number;
}

const maxScore = 100;

const round1 = (value: number) => Math.round(value * 10) / 10;

/** "14 s", "3 min 5 s", "1 h 2 min". */
export function spoken(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const minutes = Math.floor(s / 60);
  if (minutes < 60) return s % 60 ? `${minutes} min ${s % 60} s` : `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  return minutes % 60 ? `${hours} h ${minutes % 60} min` : `${hours} h`;
}

const count = (details: Record<string, unknown>, key: string): number | null => {
  const value = details[key];
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
};

/** What happened, in words, without the duration ("2 faces in view"). */
function what(v: Pick<ViolationView, 'type' | 'details'>): string {
  const details = v.details;
  switch (v.type) {
    case 'multiple_faces':
      return `${Math.max(2, count(details, 'faces') ?? 2)} faces in view`;
    case 'no_face':
      return 'No face in view';
    case 'face_mismatch':
      return 'The face in view did not match the reference photo';
    case 'liveness_failed':
      return 'The liveness check was not passed';
    case 'spoof_suspected':
      return 'The picture looked like a photo or a screen, not a person';
    case 'phone_detected':
      return 'A phone was in view';
    case 'camera_off':
      return 'The camera sent no picture';
    case 'mic_off':
      return 'The microphone sent no sound';
    case 'connection_lost':
      return 'The exam page was disconnected';
    case 'looking_away':
      return 'Looking away from the screen';
    case 'talking':
      return 'Speech was heard';
    case 'noise':
      return 'Loud noise was heard';
    case 'tab_hidden':
      return 'The exam tab was hidden (another tab or window in front)';
    case 'window_blur':
      return 'Another window had the focus';
    case 'fullscreen_exit':
      return 'The page left fullscreen';
    case 'copy_paste':
      return 'Text was copied or pasted';
    case 'multiple_displays':
      return 'A second display was connected';
    default:
      return v.type.replaceAll('_', ' ');
  }
}

function durationOf(v: Pick<ViolationView, 'startedAt' | 'endedAt'>): number | null {
  if (!v.endedAt) return null;
  return Math.max(0, (Date.parse(v.endedAt) - Date.parse(v.startedAt)) / 1000);
}

/** "2 faces in view for 14 s"; one-off events ("Text was copied or pasted") have no duration. */
export function sentenceOf(v: Pick<ViolationView, 'type' | 'details' | 'startedAt' | 'endedAt'>): string {
  const seconds = durationOf(v);
  if (seconds === null) return `${what(v)}, still going on`;
  if (seconds < 1) return what(v);
  return `${what(v)} for ${spoken(seconds)}`;
}

/** Each violation's share of the score, in the order given. */
export function contributions(
  violations: readonly ViolationView[],
  decisions: ReadonlyMap<string, ReviewDecision>,
  weights: SeverityWeights,
): Contribution[] {
  return violations.map((v) => {
    const weight = weights[v.severity as Severity] ?? 0;
    const decision = decisions.get(v.id) ?? null;
    return {
      violationId: v.id,
      type: v.type,
      severity: v.severity,
      weight,
      confidence: v.confidence,
      durationSeconds: durationOf(v) === null ? null : round1(durationOf(v)!),
      points: decision === 'dismissed' ? 0 : round1(weight * v.confidence),
      decision,
      sentence: sentenceOf(v),
    };
  });
}

/**
 * The score over time: it rises when a violation opens (the score counts violations, not their
 * length), starting at 0 when the session started. Dismissed violations are left out, so the
 * curve ends at the score the session shows.
 */
export function scoreCurve(
  startedAt: string | null,
  violations: readonly ViolationView[],
  explained: readonly Contribution[],
): ScorePoint[] {
  const byId = new Map(explained.map((c) => [c.violationId, c]));
  const ordered = [...violations].sort((a, b) => a.startedAt.localeCompare(b.startedAt));
  const first = startedAt ?? ordered[0]?.startedAt;
  if (!first) return [];
  const curve: ScorePoint[] = [{ at: first, score: 0 }];
  let total = 0;
  for (const v of ordered) {
    const c = byId.get(v.id);
    if (!c || c.decision === 'dismissed') continue;
    // Unrounded, as the score sums them; rounded once, as the score is.
    total += c.weight * c.confidence;
    curve.push({ at: v.startedAt, score: Math.min(maxScore, round1(total)) });
  }
  return curve;
}
