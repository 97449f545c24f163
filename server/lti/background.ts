import type { ServiceContext } from '../app/context.js';
import { runPeriodically } from '../shared/index.js';
import { AssessmentControl } from './control.js';
import { sweepExpiredStates } from './login.js';
import { PlatformTokens } from './platform-token.js';
import { KeySealer } from './sealing.js';
import { ToolKeys } from './tool-keys.js';

export interface LtiBackground {
  control: AssessmentControl;
  close(): Promise<void>;
}

/** What LTI runs beside requests: Assessment Control deliveries and the sweep of stale login states. */
export function startLtiBackground(
  context: ServiceContext,
  options: { controlPollMs?: number } = {},
): LtiBackground {
  const logger = context.logger.child({ component: 'lti' });
  const keys = new ToolKeys(context.db, new KeySealer(context.config.jwt));
  const control = new AssessmentControl({
    db: context.db,
    events: context.events,
    keys,
    tokens: new PlatformTokens(keys, { allowPrivateTargets: context.config.lti.allowPrivateTargets }),
    logger,
    allowPrivateTargets: context.config.lti.allowPrivateTargets,
    pollMs: options.controlPollMs,
  });
  const sweep = runPeriodically(() => sweepExpiredStates(context.db), {
    intervalMs: 10 * 60_000,
    logger,
    what: 'LTI login state sweep',
  });
  return {
    control,
    async close() {
      await sweep.stop();
      await control.close();
    },
  };
}
