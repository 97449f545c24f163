import { and, eq, gt, inArray, lt } from 'drizzle-orm';
import { clientSignals, type Database, type ViolationType } from '../db/index.js';
import { assertSessionOpen } from './session-guard.js';
import type { Policy } from './policy.js';

export type ClientSignalType =
  | 'tab_hidden'
  | 'tab_visible'
  | 'window_blur'
  | 'window_focus'
  | 'fullscreen_exit'
  | 'fullscreen_enter'
  | 'copy_paste'
  | 'multiple_displays';

/**
 * Stores a browser signal once per (session, seq); a re-sent signal reports `duplicate`. The
 * stored session status decides, under a share lock on its row (whatever a node cached): once
 * the session ended, nothing more is recorded (409 `session_ended`).
 */
export async function recordClientSignal(
  db: Database,
  signal: {
    tenantId: string;
    sessionId: string;
    seq: number;
    type: ClientSignalType;
    at: Date;
    details?: Record<string, unknown>;
  },
): Promise<{ duplicate: boolean; stale?: true; inert?: 'never_in_fullscreen' }> {
  return db.transaction(async (tx) => {
    // The session row is locked for update: one session's signals are decided one at a time.
    await assertSessionOpen(tx, signal, 'update');
    const inserted = await tx
      .insert(clientSignals)
      .values({ ...signal, details: signal.details ?? {} })
      .onConflictDoNothing({ target: [clientSignals.sessionId, clientSignals.seq] })
      .returning({ id: clientSignals.id });
    if (inserted.length === 0) return { duplicate: true };
    // An older event arriving late (a lower seq than a stored one of the same condition) is
    // kept for the record but changes nothing: the newer one already decided.
    const [newer] = await tx
      .select({ seq: clientSignals.seq })
      .from(clientSignals)
      .where(
        and(
          eq(clientSignals.sessionId, signal.sessionId),
          inArray(clientSignals.type, [...signalFamily(signal.type)]),
          gt(clientSignals.seq, signal.seq),
        ),
      )
      .limit(1);
    if (newer) return { duplicate: false, stale: true };
    if (signal.type === 'fullscreen_exit' && !(await enteredFullscreenBefore(tx, signal))) {
      // Kept for the record; leaving a fullscreen that was never entered is no violation.
      return { duplicate: false, inert: 'never_in_fullscreen' };
    }
    return { duplicate: false };
  });
}

/** Whether the page reported entering fullscreen before this signal (a lower seq). */
async function enteredFullscreenBefore(
  tx: Pick<Database, 'select'>,
  signal: { sessionId: string; seq: number },
): Promise<boolean> {
  const [entered] = await tx
    .select({ seq: clientSignals.seq })
    .from(clientSignals)
    .where(
      and(
        eq(clientSignals.sessionId, signal.sessionId),
        eq(clientSignals.type, 'fullscreen_enter'),
        lt(clientSignals.seq, signal.seq),
      ),
    )
    .limit(1);
  return entered !== undefined;
}

/** The signals that set one condition on and off (a paste is its own, one-off). */
function signalFamily(type: ClientSignalType): readonly ClientSignalType[] {
  switch (type) {
    case 'tab_hidden':
    case 'tab_visible':
      return ['tab_hidden', 'tab_visible'];
    case 'window_blur':
    case 'window_focus':
      return ['window_blur', 'window_focus'];
    case 'fullscreen_exit':
    case 'fullscreen_enter':
      return ['fullscreen_exit', 'fullscreen_enter'];
    case 'copy_paste':
    case 'multiple_displays':
      return [type];
  }
}

export interface SignalEffect {
  type: ViolationType;
  /** true: the condition starts; false: it ends; 'instant': it happened once. */
  active: boolean | 'instant';
}

/** What a browser signal means for the rules, under the exam's policy (null: nothing). */
export function signalEffect(type: ClientSignalType, policy: Policy): SignalEffect | null {
  switch (type) {
    case 'tab_hidden':
    case 'tab_visible':
      return { type: 'tab_hidden', active: type === 'tab_hidden' };
    case 'window_blur':
    case 'window_focus':
      return { type: 'window_blur', active: type === 'window_blur' };
    case 'fullscreen_exit':
    case 'fullscreen_enter':
      return policy.browser.requireFullscreen
        ? { type: 'fullscreen_exit', active: type === 'fullscreen_exit' }
        : null;
    case 'copy_paste':
      return policy.browser.allowCopyPaste ? null : { type: 'copy_paste', active: 'instant' };
    case 'multiple_displays':
      return policy.browser.maxDisplays > 1 ? null : { type: 'multiple_displays', active: true };
  }
}
