import type { Principal, TokenService } from '../auth/index.js';
import { AppError } from '../shared/index.js';

/** What the middleware reads of a socket and writes on it. */
interface AuthenticatingSocket {
  handshake: { auth: unknown };
  data: { principal: Principal };
}

/** The error socket.io delivers to the client as `connect_error`: message = code, data = {code, message}. */
export function connectError(
  code: string,
  message: string,
): Error & { data: { code: string; message: string } } {
  return Object.assign(new Error(code), { data: { code, message } });
}

/**
 * `io.use()` middleware: verifies `auth.token` (pinned algorithm, issuer, audience, expiry) and
 * lets only the allowed kinds of principal into the namespace.
 */
export function socketAuth(tokens: TokenService, allow: (principal: Principal) => boolean) {
  return (socket: AuthenticatingSocket, next: (error?: Error) => void) => {
    const auth = socket.handshake.auth as Record<string, unknown> | undefined;
    const token = typeof auth?.token === 'string' ? auth.token : undefined;
    if (!token) return next(connectError('unauthorized', 'missing auth.token'));
    try {
      const principal = tokens.verify(token);
      if (!allow(principal)) return next(connectError('forbidden', 'this token may not use this namespace'));
      socket.data.principal = principal;
      next();
    } catch (error) {
      const appError =
        error instanceof AppError ? error : new AppError('invalid_token', 'token is not valid');
      next(connectError(appError.code, appError.message));
    }
  };
}
