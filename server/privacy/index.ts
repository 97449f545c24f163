/** Privacy: erasing a candidate's data on request (retention of evidence lives in `evidence/`). */
export { eraseCandidate } from './erasure.js';
export type { ErasureOutcome } from './erasure.js';
