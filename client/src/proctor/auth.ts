/**
 * The proctor's credentials and REST calls. Two ways in: a proctor JWT in the URL (embedded
 * dashboards; it can't be refreshed) or email + password (access + refresh token, kept in
 * sessionStorage so a reload doesn't sign out but closing the tab does).
 */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

interface Tokens {
  accessToken: string;
  refreshToken: string | null;
  /** Epoch ms; null when unknown (URL token). */
  expiresAt: number | null;
}

const STORAGE_KEY = 'vigil:proctor-auth';
/** Refresh a bit early so a token never expires between check and use. */
const REFRESH_MARGIN_MS = 60_000;

export class Auth {
  #tokens: Tokens | null;
  #refreshing: Promise<string> | null = null;

  private constructor(tokens: Tokens | null) {
    this.#tokens = tokens;
  }

  /** From `?token=` if present, else from an earlier sign-in in this tab. */
  static fromPage(urlToken: string | null): Auth {
    if (urlToken) return new Auth({ accessToken: urlToken, refreshToken: null, expiresAt: null });
    return new Auth(load());
  }

  get signedIn(): boolean {
    return this.#tokens !== null;
  }

  /** Whether signing out makes sense (a URL token can't be "signed out" of). */
  get canSignOut(): boolean {
    return this.#tokens?.refreshToken != null;
  }

  async signIn(email: string, password: string): Promise<void> {
    const res = await call<TokenResponse>('POST', '/api/v1/auth/token', { body: { email, password } });
    this.#store(res);
  }

  signOut(): void {
    this.#tokens = null;
    sessionStorage.removeItem(STORAGE_KEY);
  }

  /** The current access token, refreshed first when it is about to expire. */
  async token(): Promise<string> {
    const tokens = this.#tokens;
    if (!tokens) throw new ApiError(401, 'unauthorized', 'Please sign in.');
    if (
      tokens.expiresAt === null ||
      tokens.refreshToken === null ||
      tokens.expiresAt - REFRESH_MARGIN_MS > Date.now()
    ) {
      return tokens.accessToken;
    }
    return this.#refresh(tokens.refreshToken);
  }

  /** JSON request with the bearer token; one refresh-and-retry on 401. */
  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    try {
      return await call<T>(method, path, { body, token: await this.token() });
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 401 || !this.#tokens?.refreshToken) throw err;
      return call<T>(method, path, { body, token: await this.#refresh(this.#tokens.refreshToken) });
    }
  }

  /** Bytes (evidence) with the bearer token. Only same-origin URLs get the token. */
  async blob(url: string): Promise<Blob> {
    const target = new URL(url, location.origin);
    if (target.origin !== location.origin)
      throw new Error('Evidence is hosted elsewhere; refusing to send credentials.');
    const res = await fetch(target, { headers: { authorization: `Bearer ${await this.token()}` } });
    if (!res.ok) throw await toApiError(res);
    return res.blob();
  }

  #refresh(refreshToken: string): Promise<string> {
    this.#refreshing ??= call<TokenResponse>('POST', '/api/v1/auth/refresh', { body: { refreshToken } })
      .then((res) => {
        this.#store(res);
        return res.accessToken;
      })
      .catch((err: unknown) => {
        // A refused refresh means the sign-in is over; the page shows the login form.
        this.signOut();
        throw err;
      })
      .finally(() => (this.#refreshing = null));
    return this.#refreshing;
  }

  #store(res: TokenResponse): void {
    this.#tokens = {
      accessToken: res.accessToken,
      refreshToken: res.refreshToken,
      expiresAt: Date.now() + res.expiresIn * 1000,
    };
    sessionStorage.setItem(STORAGE_KEY, JSON.stringify(this.#tokens));
  }
}

interface TokenResponse {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
}

function load(): Tokens | null {
  try {
    const raw = sessionStorage.getItem(STORAGE_KEY);
    const parsed: unknown = raw ? JSON.parse(raw) : null;
    if (typeof parsed === 'object' && parsed !== null && typeof (parsed as Tokens).accessToken === 'string') {
      return parsed as Tokens;
    }
  } catch (err) {
    console.warn('stored sign-in unreadable; signing in again', err);
  }
  return null;
}

async function call<T>(method: string, path: string, opts: { body?: unknown; token?: string }): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, {
    method,
    headers,
    body: opts.body === undefined ? null : JSON.stringify(opts.body),
  });
  if (!res.ok) throw await toApiError(res);
  return (await res.json()) as T;
}

/** The contract's `{error: {code, message}}`, or a generic error for anything else (proxies). */
async function toApiError(res: Response): Promise<ApiError> {
  const text = await res.text();
  try {
    const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    const { code, message } = body.error ?? {};
    if (typeof code === 'string')
      return new ApiError(res.status, code, typeof message === 'string' ? message : code);
  } catch {
    // Not JSON: fall through to the status line.
  }
  return new ApiError(
    res.status,
    `http_${res.status}`,
    `${res.status} ${res.statusText || 'request failed'}`,
  );
}
