/**
 * The parts of `GET /sessions/:id/report` the dashboard reads (server/reports/report.ts has
 * the whole shape; kept apart so the page does not type-check the server's database code).
 */
export type Decision = 'confirmed' | 'dismissed';

export interface Contribution {
  violationId: string;
  type: string;
  severity: string;
  weight: number;
  confidence: number;
  durationSeconds: number | null;
  points: number;
  decision: Decision | null;
  sentence: string;
}

export interface ReportSpan {
  id: string;
  type: string;
  startedAt: string;
  endedAt: string | null;
  decision: Decision | null;
}

export interface SessionReportView {
  generatedAt: string;
  session: { startedAt: string | null; endedAt: string | null; suspicionScore: number };
  scoreCurve: { at: string; score: number }[];
  explanation: { score: number; contributions: Contribution[] };
  accommodations: { description: string[] };
  violations: ReportSpan[];
}

export interface QueueItem {
  sessionId: string;
  candidateName: string;
  status: string;
  suspicionScore: number;
  unreviewed: Record<string, number>;
  unreviewedTotal: number;
}
