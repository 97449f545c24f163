export { buildReport } from './report.js';
export type { SessionReport, TimelineEntry } from './report.js';
export { contributions, scoreCurve, sentenceOf, spoken } from './explain.js';
export type { Contribution, ScorePoint } from './explain.js';
export { evidenceFilesOf } from './evidence-files.js';
export type { EvidenceFile } from './evidence-files.js';
export { renderReportPdf } from './pdf.js';
