import { z } from 'zod';
import { severities, violationTypes } from '../db/schema/enums.js';

const seconds = z.number().min(0).max(3600);

const ruleSchema = z.strictObject({
  enabled: z.boolean().default(true),
  severity: z.enum(severities).optional(),
  /** The condition must hold this long before a violation opens. */
  openAfterSeconds: seconds.optional(),
  /** ...and be gone this long before it closes. */
  closeAfterSeconds: seconds.optional(),
});

/**
 * An exam's proctoring policy. Every field has a default, so `{}` is a complete policy;
 * unknown keys are rejected so a typo cannot silently switch a check off.
 */
export const policySchema = z.strictObject({
  identity: z
    .strictObject({
      /** Check the streamed face against the candidate's reference photo. */
      required: z.boolean().default(true),
      /** Similarity at or above which a face counts as the candidate (0..1). */
      matchThreshold: z.number().min(0).max(1).default(0.5),
    })
    .prefault({}),
  liveness: z
    .strictObject({
      /** Run an active challenge (blink, head turn) before the exam starts. */
      required: z.boolean().default(false),
    })
    .prefault({}),
  gaze: z
    .strictObject({
      maxYawDegrees: z.number().min(5).max(90).default(35),
      maxPitchDegrees: z.number().min(5).max(90).default(25),
    })
    .prefault({}),
  browser: z
    .strictObject({
      requireFullscreen: z.boolean().default(true),
      /**
       * The candidate page starts the session only once it is in fullscreen (a refused request
       * shows how to enter it); off, the page asks for fullscreen but starts either way.
       */
      fullscreenToStart: z.boolean().default(false),
      allowCopyPaste: z.boolean().default(false),
      maxDisplays: z.number().int().min(1).max(8).default(1),
    })
    .prefault({}),
  /**
   * How the server spends its models on this exam's streams. With `cascade` the face mesh runs
   * on every sampled frame, the full-range face detector every few, and the costlier models on these
   * cadences (and at once when the picture calls for them); without it every model runs on
   * every frame.
   */
  analysis: z
    .strictObject({
      cascade: z.boolean().default(true),
      /**
       * The full-range face detector (small faces far from the camera too) on every n-th frame, the
       * ten times cheaper short-range one in between (1: the full-range detector on every frame).
       */
      detectorEveryFrames: z.number().int().min(1).max(10).default(3),
      /**
       * Eye gaze (the iris model, the costliest part of tracking a face) at least this often; on
       * every frame while head or eyes point towards the edge of the screen.
       */
      gazeEverySeconds: z.number().min(0.5).max(60).default(2),
      /** Identity embedding at least this often while a face is visible (and at once on a new face). */
      identityEverySeconds: z.number().min(0.5).max(300).default(5),
      /** Frames embedded in a row after the face track changes (the identity verdict needs 3). */
      identityBurstFrames: z.number().int().min(1).max(30).default(3),
      /** Passive anti-spoofing and liveness scores this often. */
      antispoofEverySeconds: z.number().min(0.5).max(600).default(10),
      /** Object model (phones) this often, and whenever the picture changed by `sceneChange`. */
      objectsEverySeconds: z.number().min(0.5).max(300).default(3),
      /** Mean luma difference (0..1) from the frame the object model last saw that counts as a new scene. */
      sceneChange: z.number().min(0).max(1).default(0.15),
      /** Audio quieter than this (dBFS) skips the voice model: it is silence, not speech. */
      vadGateDbfs: z.number().min(-100).max(0).default(-50),
    })
    .prefault({}),
  /** Per-violation-type overrides of the rules engine's defaults. */
  rules: z.partialRecord(z.enum(violationTypes), ruleSchema).default({}),
  /** End the session automatically once the suspicion score reaches this value (0..100). */
  autoTerminateScore: z.number().min(1).max(100).nullable().default(null),
});

export type Policy = z.infer<typeof policySchema>;
export type PolicyInput = z.input<typeof policySchema>;

export const defaultPolicy = (): Policy => policySchema.parse({});

/**
 * Whether a joining candidate goes through `verifying` first: an identity check against a
 * registered reference, or a liveness challenge, that the exam requires.
 */
export function needsVerification(policy: Policy, hasReference: boolean): boolean {
  return (policy.identity.required && hasReference) || policy.liveness.required;
}
