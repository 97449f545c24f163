/** Words shown to people: violation labels, statuses, times. */
import type { SessionStatus, ViolationType } from './protocol.js';

/** Exhaustive over the server's violation types so a new type can't ship unlabelled. */
const VIOLATION_LABELS: Record<ViolationType, string> = {
  face_mismatch: 'Face does not match the reference photo',
  liveness_failed: 'Liveness check failed',
  spoof_suspected: 'Possible photo or screen in front of the camera',
  multiple_faces: 'More than one person in view',
  phone_detected: 'Phone in view',
  camera_off: 'Camera is off',
  no_face: 'No face in view',
  talking: 'Talking detected',
  tab_hidden: 'Left the exam tab',
  copy_paste: 'Copy or paste',
  multiple_displays: 'More than one display connected',
  mic_off: 'Microphone is off',
  connection_lost: 'Connection lost',
  looking_away: 'Looking away from the screen',
  noise: 'Background noise',
  window_blur: 'Switched to another window',
  fullscreen_exit: 'Left fullscreen',
};

export function violationLabel(type: string): string {
  return (VIOLATION_LABELS as Record<string, string>)[type] ?? type.replaceAll('_', ' ');
}

const STATUS_TEXT: Record<SessionStatus, string> = {
  created: 'Not started yet',
  verifying: 'Checking your identity',
  in_progress: 'Exam in progress',
  paused: 'Paused by your proctor',
  completed: 'Exam completed',
  terminated: 'Exam ended by your proctor',
  failed: 'The session could not continue',
};

export function statusText(status: SessionStatus): string {
  return STATUS_TEXT[status];
}

const timeFormat = new Intl.DateTimeFormat(undefined, {
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
});

/** Local wall-clock time of an ISO timestamp, e.g. `14:03:27`. */
export function clock(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? '' : timeFormat.format(date);
}

const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/** Local date and time of an ISO timestamp, for records read days later. */
export function dateTime(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? '' : dateTimeFormat.format(date);
}

export function percent(value: number | null): string {
  return value === null ? '—' : `${Math.round(value * 100)}%`;
}
