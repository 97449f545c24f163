export { policySchema, defaultPolicy, needsVerification } from './policy.js';
export type { Policy, PolicyInput } from './policy.js';
export { ProctoringEvents } from './events.js';
export type { ProctoringEventMap } from './events.js';
export { createExam, getExam, listExams, loadExam } from './exams.js';
export {
  createCandidate,
  getCandidate,
  listCandidates,
  loadCandidate,
  setCandidateReference,
} from './candidates.js';
export {
  createSession,
  getSession,
  listSessionsOfExam,
  listViolations,
  loadSession,
  transitionSession,
  applySessionAction,
  recordVerification,
} from './sessions.js';
export { sessionActions, isFinal, canTransition } from './session-state.js';
export type { SessionAction } from './session-state.js';
export { openViolation, closeViolation, summariseViolations, severityWeight } from './violations.js';
export type { OpenViolationInput } from './violations.js';
export type { CandidateView, ExamView, SessionView, ViolationView, EvidenceRef } from './views.js';
export { ViolationRules, defaultTimings } from './rules.js';
export type { SessionContext, Observation, Timing } from './rules.js';
export { recordClientSignal, signalEffect } from './signals.js';
export type { ClientSignalType, SignalEffect } from './signals.js';
export { LivenessChallenge, livenessSteps, defaultChallengeTuning } from './liveness.js';
export type { ChallengeFrame, ChallengeOutcome, ChallengePrompt, LivenessStep } from './liveness.js';
export { completeOverdueSessions, scheduleDeadlines } from './deadlines.js';
export { sendMessage, listMessages, addNote, listNotes } from './messages.js';
export { messageText, defaultHelpText, maxMessageLength } from './message-text.js';
export type { MessageView, NoteView } from './message-types.js';
export { addReview, listReviews, reviewsOfSession, decisionsOfSession, reviewQueue } from './reviews.js';
export type { ReviewView, ReviewInput, ReviewQueueItem } from './reviews.js';
export {
  getProfile,
  setProfile,
  profileOf,
  describeProfile,
  exemptTypes,
  accommodationsOf,
  noAccommodation,
} from './profiles.js';
export type { AccessibilityProfile, ProfileView } from './profiles.js';
