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
      allowCopyPaste: z.boolean().default(false),
      maxDisplays: z.number().int().min(1).max(8).default(1),
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
