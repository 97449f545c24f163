export { appendAudit, recordAudit, listAudit, verifyAuditChain } from './audit-log.js';
export type { AuditEntry, AuditInput, ChainReport } from './audit-log.js';
