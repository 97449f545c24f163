import { cascadeTuning, type CascadePolicy, type ObserverTuning } from '../analysis/index.js';
import { defaultPolicy, type Policy } from '../proctoring/index.js';
import type { MonitoredSession } from './session-loader.js';

/** The exam's analysis knobs; exams stored before they existed get the defaults. */
export function analysisPolicy(policy: MonitoredSession['policy']): Policy['analysis'] {
  return policy.analysis ?? defaultPolicy().analysis;
}

/** The knobs as the engine's cascade takes them (milliseconds). */
export function cascadeOf(knobs: Policy['analysis']): CascadePolicy {
  return {
    detectorEveryFrames: knobs.detectorEveryFrames,
    gazeEveryMs: knobs.gazeEverySeconds * 1000,
    identityEveryMs: knobs.identityEverySeconds * 1000,
    identityBurstFrames: knobs.identityBurstFrames,
    antispoofEveryMs: knobs.antispoofEverySeconds * 1000,
    objectsEveryMs: knobs.objectsEverySeconds * 1000,
    sceneChange: knobs.sceneChange,
  };
}

/** Smoothing windows that hold enough samples at the cascade's cadences (naive: the defaults). */
export function tuningFor(knobs: Policy['analysis']): Partial<ObserverTuning> {
  if (!knobs.cascade) return {};
  return cascadeTuning(cascadeOf(knobs));
}
