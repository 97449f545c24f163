export {
  appendAudit,
  recordAudit,
  listAudit,
  toEntry as auditEntryOf,
  verifyAuditChain,
} from './audit-log.js';
export type { AuditEntry, AuditInput, ChainReport } from './audit-log.js';
