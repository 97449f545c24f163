export {
  AppError,
  errorCodes,
  forbidden,
  isUnavailable,
  notFound,
  toAppError,
  toErrorBody,
} from './errors.js';
export type { ErrorBody, ErrorCode } from './errors.js';
export { createLogger } from './logger.js';
export type { Logger } from './logger.js';
export { canonicalJson } from './canonical-json.js';
export { packageRoot } from './paths.js';
export { runPeriodically } from './periodic.js';
export { backoffMs } from './backoff.js';
export { deriveKey, open as openSealed, seal } from './sealed-box.js';
export { assertSafeText, unsafeTextIn } from './safe-text.js';
export { privateDirMode, privateFileMode, secureDataDir, tightenTree } from './private-files.js';
