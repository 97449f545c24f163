import type { SessionStatus } from '../db/index.js';

/** The contract's proctor actions, and `complete`: the normal end (e.g. the candidate submitted). */
export const sessionActions = ['warn', 'pause', 'resume', 'terminate', 'flag', 'complete'] as const;
export type SessionAction = (typeof sessionActions)[number];

export const finalStatuses: readonly SessionStatus[] = ['completed', 'terminated', 'failed'];
export const openStatuses: readonly SessionStatus[] = ['created', 'verifying', 'in_progress', 'paused'];

export const isFinal = (status: SessionStatus): boolean => finalStatuses.includes(status);

/**
 * The contract's lifecycle: created → verifying → in_progress ⇄ paused → completed |
 * terminated | failed. `created → in_progress` is allowed while no verification gate runs.
 */
const transitions: Record<SessionStatus, readonly SessionStatus[]> = {
  created: ['verifying', 'in_progress', 'terminated', 'failed'],
  verifying: ['in_progress', 'terminated', 'failed'],
  in_progress: ['paused', 'completed', 'terminated', 'failed'],
  paused: ['in_progress', 'completed', 'terminated', 'failed'],
  completed: [],
  terminated: [],
  failed: [],
};

export function canTransition(from: SessionStatus, to: SessionStatus): boolean {
  return transitions[from].includes(to);
}

/**
 * Whether a proctor's action may move a session in `from` to `to`. Stricter than the lifecycle:
 * `resume` undoes a pause, or admits a candidate stuck in verification (the proctor checked
 * them); it never starts a session whose candidate has not joined.
 */
export function actionAllowed(action: SessionAction, from: SessionStatus, to: SessionStatus): boolean {
  if (from === to) return true; // pausing a paused session, resuming a running one: nothing to do
  if (action === 'resume') return from === 'paused' || from === 'verifying';
  return canTransition(from, to);
}

/** The status a proctor action leads to, or null when the action leaves the status alone. */
export function statusAfterAction(action: SessionAction): SessionStatus | null {
  switch (action) {
    case 'pause':
      return 'paused';
    case 'resume':
      return 'in_progress';
    case 'terminate':
      return 'terminated';
    case 'complete':
      return 'completed';
    case 'warn':
    case 'flag':
      return null;
  }
}
