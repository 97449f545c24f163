export { appendAudit, recordAudit, listAudit, verifyAuditChain, countAudit } from './audit-log.js';
export type { AuditEntry, AuditInput, ChainReport } from './audit-log.js';
