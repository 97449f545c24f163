export type { Principal, Audience } from './principal.js';
export { actorOf, audienceOf, examScope, assertNever } from './principal.js';
export { TokenService } from './tokens.js';
export {
  systemTenantId,
  resolveApiKey,
  createApiClient,
  createUser,
  checkPassword,
  issueTokenPair,
  rotateRefreshToken,
  revokeRefreshToken,
} from './accounts.js';
export type { TokenPair, RefreshOutcome } from './accounts.js';
