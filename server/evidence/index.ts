export { LocalEvidenceStore } from './store.js';
export type { EvidenceStore, StoredObject } from './store.js';
export { storeEvidence, readEvidence } from './evidence.js';
export { deleteIfUnused, purgeExpiredEvidence, scheduleRetention } from './retention.js';
export type { RetentionOutcome } from './retention.js';
