import type { AnalysisEngine } from '../analysis/index.js';
import type { AnalysisStatus } from './analysis-status.js';
import type { TokenService } from '../auth/index.js';
import type { Config } from '../config/index.js';
import type { Database, DatabaseHandle } from '../db/index.js';
import type { EvidenceStore } from '../evidence/index.js';
import type { ProctoringEvents } from '../proctoring/index.js';
import type { RateLimiter } from '../ratelimit/index.js';
import type { Redis } from '../redis/index.js';
import type { Logger } from '../shared/index.js';
import type { UsageMeter } from '../usage/index.js';

/** Everything the HTTP and realtime layers need, built once and passed in (never imported as globals). */
export interface ServiceContext {
  config: Config;
  logger: Logger;
  database: DatabaseHandle;
  db: Database;
  redis: Redis | undefined;
  tokens: TokenService;
  rateLimiter: RateLimiter;
  events: ProctoringEvents;
  evidenceStore: EvidenceStore;
  /** Face and voice analysis; absent when this node runs without it. */
  analysis: AnalysisEngine | undefined;
  /** Whether stream analysis runs, or which part is off and why (`/readyz`, dashboard banner). */
  analysisStatus?: AnalysisStatus;
  /** Counts usage per tenant (flushed to the database in batches). */
  usage: UsageMeter;
}
