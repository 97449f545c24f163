import type { Principal } from '../auth/index.js';
import type { ReviewDecision } from '../db/index.js';
import { isFinal, loadExam, policySchema, profileOf } from '../proctoring/index.js';
import { AppError } from '../shared/index.js';
import { buildReport } from './report.js';

export interface OutcomeItem {
  type: string;
  severity: string;
  startedAt: string;
  /** In plain words, with how long it lasted. */
  sentence: string;
  /** What it added to the score (0 once a reviewer dismissed it). */
  points: number;
  review: ReviewDecision | null;
}

/** What a candidate may see of their own session, in plain words (no staff names, no notes). */
export interface CandidateOutcome {
  exam: { title: string };
  status: string;
  ended: boolean;
  startedAt: string | null;
  endedAt: string | null;
  score: number;
  recorded: OutcomeItem[];
  /** One sentence on the human review so far. */
  reviewSummary: string;
  accommodations: string[];
  appeal: string;
}

const appealText =
  'If you think something here is wrong, ask your exam provider for a review and for your appeal ' +
  'bundle: a file with this record, the evidence and the audit entries, which anyone can check ' +
  'with `npx vigil bundle verify`. Your provider decides on appeals; nothing here is final until a ' +
  'person has reviewed it.';

/** The candidate's own outcome page (`/candidate/outcome?token=…`): their session, nobody else's. */
export async function candidateOutcome(
  db: Parameters<typeof buildReport>[0],
  principal: Principal,
): Promise<CandidateOutcome> {
  if (principal.kind !== 'candidate')
    throw new AppError('forbidden', 'the outcome page is for the candidate');
  const report = await buildReport(db, principal, principal.sessionId);
  const byId = new Map(report.explanation.contributions.map((c) => [c.violationId, c]));
  const recorded = report.violations.map((v) => ({
    type: v.type,
    severity: v.severity,
    startedAt: v.startedAt,
    sentence: v.sentence,
    points: byId.get(v.id)?.points ?? 0,
    review: byId.get(v.id)?.decision ?? null,
  }));
  return {
    exam: { title: report.exam.title },
    status: report.session.status,
    ended: isFinal(report.session.status),
    startedAt: report.session.startedAt,
    endedAt: report.session.endedAt,
    score: report.session.suspicionScore,
    recorded,
    reviewSummary: reviewSummary(recorded),
    accommodations: report.accommodations.description,
    appeal: appealText,
  };
}

function reviewSummary(items: readonly OutcomeItem[]): string {
  if (items.length === 0) return 'Nothing was recorded, so there is nothing to review.';
  const reviewed = items.filter((i) => i.review !== null);
  if (reviewed.length === 0) return 'A person has not reviewed these notices yet.';
  const dismissed = reviewed.filter((i) => i.review === 'dismissed').length;
  const confirmed = reviewed.length - dismissed;
  const open = items.length - reviewed.length;
  const parts = [
    dismissed > 0 ? `${dismissed} dismissed as not a problem` : '',
    confirmed > 0 ? `${confirmed} confirmed` : '',
    open > 0 ? `${open} not reviewed yet` : '',
  ].filter(Boolean);
  return `A person reviewed ${reviewed.length} of ${items.length} notices: ${parts.join(', ')}.`;
}

/** How the candidate page handles fullscreen for this session (exam policy and the candidate's profile). */
export type FullscreenMode = 'off' | 'requested' | 'required_to_start';

export async function candidatePageSettings(
  db: Parameters<typeof buildReport>[0],
  principal: Principal,
): Promise<{ fullscreen: FullscreenMode }> {
  if (principal.kind !== 'candidate')
    throw new AppError('forbidden', 'these settings are for the candidate page');
  const [exam, profile] = await Promise.all([
    loadExam(db, principal, principal.examId),
    profileOf(db, principal.tenantId, principal.candidateId),
  ]);
  const browser = policySchema.parse(exam.policy).browser;
  if (profile.noFullscreen || !browser.requireFullscreen) return { fullscreen: 'off' };
  return { fullscreen: browser.fullscreenToStart ? 'required_to_start' : 'requested' };
}
