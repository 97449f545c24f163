export { LocalEvidenceStore } from './store.js';
export type { EvidenceStore, StoredObject } from './store.js';
export { deleteIfUnused, storeEvidence, readEvidence } from './evidence.js';
export { purgeExpiredEvidence, scheduleRetention } from './retention.js';
export type { RetentionOutcome } from './retention.js';
