import type { SessionStatus } from '../db/schema/enums.js';
import type { Policy } from './policy.js';

/**
 * The JSON shapes of exams, candidates, sessions and violations as clients see them. Kept free
 * of database imports so the browser pages can import these types too.
 */
export interface ExamView {
  id: string;
  title: string;
  durationMinutes: number;
  policy: Policy;
  createdAt: string;
}

export interface CandidateView {
  id: string;
  examId: string;
  externalId: string;
  name: string;
  hasReference: boolean;
}

export interface EvidenceRef {
  id: string;
  kind: string;
  sha256: string;
  url: string;
  /** Present once the retention policy deleted the bytes (the sha256 still identifies them). */
  purgedAt?: string;
}

export interface ViolationView {
  id: string;
  sessionId: string;
  type: string;
  severity: string;
  source: string;
  startedAt: string;
  endedAt: string | null;
  confidence: number;
  details: Record<string, unknown>;
  evidence: EvidenceRef[];
}

export interface SessionView {
  id: string;
  examId: string;
  candidateId: string;
  status: SessionStatus;
  flagged: boolean;
  suspicionScore: number;
  verification: Record<string, unknown> | null;
  violationCounts: Record<string, number>;
  startedAt: string | null;
  endedAt: string | null;
  createdAt: string;
}

/** Live analysis summary of one session, pushed to proctors at most once a second. */
export interface AnalysisTick {
  sessionId: string;
  at: string;
  /** ms epoch when the frame behind this tick reached the server (latency measurement). */
  frameAt: number;
  faces: number | null;
  identitySimilarity: number | null;
  speaking: boolean | null;
  score: number;
}
