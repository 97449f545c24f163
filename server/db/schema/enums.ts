/**
 * Closed vocabularies shared by the database schema, the zod edge schemas and the client.
 * `as const` arrays so each is both a runtime list and a type.
 */
export const userRoles = ['admin', 'proctor'] as const;
export type UserRole = (typeof userRoles)[number];

/** Session lifecycle, see CONTRACT.md "Objects". */
export const sessionStatuses = [
  'created',
  'verifying',
  'in_progress',
  'paused',
  'completed',
  'terminated',
  'failed',
] as const;
export type SessionStatus = (typeof sessionStatuses)[number];

export const severities = ['low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof severities)[number];

export const violationSources = ['server', 'client'] as const;
export type ViolationSource = (typeof violationSources)[number];

/** Violation types with their default severity (CONTRACT.md). */
export const defaultSeverityByViolationType = {
  face_mismatch: 'critical',
  liveness_failed: 'critical',
  spoof_suspected: 'high',
  multiple_faces: 'high',
  phone_detected: 'high',
  camera_off: 'high',
  no_face: 'medium',
  talking: 'medium',
  tab_hidden: 'medium',
  copy_paste: 'medium',
  multiple_displays: 'medium',
  mic_off: 'medium',
  connection_lost: 'medium',
  looking_away: 'low',
  noise: 'low',
  window_blur: 'low',
  fullscreen_exit: 'low',
} as const satisfies Record<string, Severity>;
export type ViolationType = keyof typeof defaultSeverityByViolationType;
export const violationTypes = Object.keys(defaultSeverityByViolationType) as [
  ViolationType,
  ...ViolationType[],
];

export const evidenceKinds = ['snapshot', 'audio', 'reference'] as const;
export type EvidenceKind = (typeof evidenceKinds)[number];
