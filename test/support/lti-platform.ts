/**
 * An LTI 1.3 platform (an LMS) for the tests, on a loopback port: its own RS256 keys and JWKS,
 * an OIDC authorization endpoint that form-posts the id_token back, a start-assessment receiver
 * that verifies the tool's LtiStartAssessment against the tool's /lti/jwks, an OAuth 2 token
 * endpoint that checks the tool's JWT client assertion, and an Assessment Control receiver.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createRemoteJWKSet,
  exportJWK,
  generateKeyPair,
  jwtVerify,
  SignJWT,
  type CryptoKey,
  type JWK,
  type JWTPayload,
} from 'jose';

export const lti = 'https://purl.imsglobal.org/spec/lti/claim/';
export const ap = 'https://purl.imsglobal.org/spec/lti-ap/claim/';
export const controlScope = 'https://purl.imsglobal.org/spec/lti-ap/scope/control.all';
export const controlMediaType = 'application/vnd.ims.lti-ap.v1.control+json';

export interface Launch {
  /** LtiStartProctoring (default), LtiEndAssessment, or anything else to test refusals. */
  messageType?: string;
  sub?: string;
  name?: string;
  email?: string;
  resourceLinkId?: string;
  resourceLinkTitle?: string;
  attemptNumber?: number | string;
  sessionData?: string;
  deploymentId?: string;
  /** Give the launch an ACS claim (default true). */
  acs?: boolean;
  proctoringSettings?: string;
  /** Claims to add or override (undefined deletes). */
  extra?: Record<string, unknown>;
}

export interface SignOptions {
  kid?: string;
  /** Sign with a key the JWKS does not publish. */
  foreignKey?: boolean;
  issuer?: string;
  audience?: string | string[];
  azp?: string;
  iatOffsetSeconds?: number;
  expiresInSeconds?: number;
}

export interface ReceivedStart {
  payload: JWTPayload;
  header: { kid?: string; alg?: string };
}

export interface ReceivedControl {
  body: Record<string, unknown>;
  contentType: string | undefined;
  token: string;
}

interface Key {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

async function makeKey(): Promise<Key> {
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  const kid = randomBytes(8).toString('hex');
  return { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
}

export class LtiPlatform {
  readonly clientId = `client-${randomUUID()}`;
  readonly deploymentId = `deployment-${randomUUID().slice(0, 8)}`;
  url = '';
  /** What the start-assessment receiver accepted (verified against the tool's JWKS). */
  readonly started: ReceivedStart[] = [];
  /** Start-assessment posts that did not verify, with why. */
  readonly startRejected: string[] = [];
  readonly controls: ReceivedControl[] = [];
  readonly tokensIssued: { token: string; scope: string; assertion: JWTPayload }[] = [];
  readonly tokenRejected: string[] = [];
  /** JWKS answers: normal, or an error page, or no answer at all. */
  jwksMode: 'ok' | 'error' | 'hang' = 'ok';
  /** How often the JWKS was fetched (the tool should cache it). */
  jwksFetches = 0;
  /** ACS answers this status this many more times before accepting. */
  controlFailures = 0;
  toolUrl = '';

  readonly #server: http.Server;
  #key!: Key;
  readonly #foreign: Promise<Key> = makeKey();
  readonly #pending = new Map<string, Launch>();
  #toolJwks: ReturnType<typeof createRemoteJWKSet> | undefined;

  private constructor() {
    this.#server = http.createServer((request, response) => {
      this.#handle(request, response).catch((error: unknown) => {
        response.writeHead(500).end(String(error));
      });
    });
  }

  static async start(): Promise<LtiPlatform> {
    const platform = new LtiPlatform();
    platform.#key = await makeKey();
    await new Promise<void>((resolve) => platform.#server.listen(0, '127.0.0.1', resolve));
    platform.url = `http://127.0.0.1:${(platform.#server.address() as AddressInfo).port}`;
    return platform;
  }

  get issuer(): string {
    return this.url;
  }

  get kid(): string {
    return this.#key.kid;
  }

  /** Points the receivers at the tool (its JWKS verifies what the tool signs). */
  useTool(toolUrl: string): void {
    this.toolUrl = toolUrl;
    // No cooldown: a tool key rotated during a test is fetched at once.
    this.#toolJwks = createRemoteJWKSet(new URL(`${toolUrl}/lti/jwks`), { cooldownDuration: 0 });
  }

  /** The registration body for `POST /api/v1/lti/platforms`. */
  registration() {
    return {
      issuer: this.issuer,
      clientId: this.clientId,
      deploymentIds: [this.deploymentId],
      authLoginUrl: `${this.url}/auth`,
      jwksUrl: `${this.url}/jwks`,
      accessTokenUrl: `${this.url}/token`,
    };
  }

  /** The login initiation URL a browser follows to launch `launch` (the platform's "open exam" link). */
  loginUrl(launch: Launch = {}): string {
    const hint = randomUUID();
    this.#pending.set(hint, launch);
    const query = new URLSearchParams({
      iss: this.issuer,
      login_hint: launch.sub ?? 'user-1',
      target_link_uri: `${this.toolUrl}/lti/launch`,
      lti_message_hint: hint,
      client_id: this.clientId,
      lti_deployment_id: launch.deploymentId ?? this.deploymentId,
    });
    return `${this.toolUrl}/lti/login?${query.toString()}`;
  }

  /** The claims of a launch, as the platform signs them. */
  claims(launch: Launch, nonce: string): Record<string, unknown> {
    const claims: Record<string, unknown> = {
      sub: launch.sub ?? 'user-1',
      nonce,
      name: launch.name ?? 'Grace Hopper',
      email: launch.email ?? 'grace@example.test',
      [`${lti}message_type`]: launch.messageType ?? 'LtiStartProctoring',
      [`${lti}version`]: '1.3.0',
      [`${lti}deployment_id`]: launch.deploymentId ?? this.deploymentId,
      [`${lti}target_link_uri`]: `${this.toolUrl}/lti/launch`,
      [`${lti}roles`]: [],
      [`${lti}resource_link`]: {
        id: launch.resourceLinkId ?? 'link-1',
        title: launch.resourceLinkTitle ?? 'Final exam',
      },
      [`${ap}attempt_number`]: launch.attemptNumber ?? 1,
      [`${ap}session_data`]: launch.sessionData ?? `opaque-${randomUUID()}`,
      [`${ap}start_assessment_url`]: `${this.url}/start-assessment`,
      ...(launch.proctoringSettings !== undefined
        ? { [`${ap}proctoring_settings`]: { data: launch.proctoringSettings } }
        : {}),
      ...(launch.acs === false
        ? {}
        : {
            [`${ap}acs`]: {
              actions: ['flag', 'terminate', 'pause', 'resume', 'update'],
              assessment_control_url: `${this.url}/acs`,
            },
          }),
    };
    for (const [name, value] of Object.entries(launch.extra ?? {})) {
      if (value === undefined) delete claims[name];
      else claims[name] = value;
    }
    return claims;
  }

  /** Signs an id_token the way this platform does (or, with options, the ways it must not). */
  async sign(claims: Record<string, unknown>, options: SignOptions = {}): Promise<string> {
    const key = options.foreignKey ? await this.#foreign : this.#key;
    const now = Math.floor(Date.now() / 1000) + (options.iatOffsetSeconds ?? 0);
    return new SignJWT({ ...claims, ...(options.azp !== undefined ? { azp: options.azp } : {}) })
      .setProtectedHeader({ alg: 'RS256', kid: options.kid ?? key.kid, typ: 'JWT' })
      .setIssuer(options.issuer ?? this.issuer)
      .setAudience(options.audience ?? this.clientId)
      .setIssuedAt(now)
      .setExpirationTime(now + (options.expiresInSeconds ?? 300))
      .sign(key.privateKey);
  }

  /** Rotates the platform's own key (the JWKS then publishes only the new one). */
  async rotateKey(): Promise<void> {
    this.#key = await makeKey();
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise((resolve) => this.#server.close(resolve));
  }

  async #handle(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', this.url);
    if (url.pathname === '/jwks') {
      this.jwksFetches += 1;
      if (this.jwksMode === 'hang') return; // never answers; the tool must time out
      if (this.jwksMode === 'error') return void response.writeHead(503).end('down');
      return json(response, 200, { keys: [this.#key.publicJwk] });
    }
    if (url.pathname === '/auth') return this.#authorize(url, response);
    const body = await readBody(request);
    if (url.pathname === '/start-assessment' && request.method === 'POST')
      return this.#startAssessment(body, response);
    if (url.pathname === '/token' && request.method === 'POST') return this.#token(body, response);
    if (url.pathname === '/acs' && request.method === 'POST') return this.#control(request, body, response);
    response.writeHead(404).end();
  }

  /** OIDC authorization (response_mode=form_post): an auto-submitting form back to the tool. */
  async #authorize(url: URL, response: http.ServerResponse): Promise<void> {
    const q = url.searchParams;
    const launch = this.#pending.get(q.get('lti_message_hint') ?? '');
    const problems = [
      q.get('scope') !== 'openid' && 'scope',
      q.get('response_type') !== 'id_token' && 'response_type',
      q.get('response_mode') !== 'form_post' && 'response_mode',
      q.get('prompt') !== 'none' && 'prompt',
      q.get('client_id') !== this.clientId && 'client_id',
      !launch && 'lti_message_hint',
      !q.get('nonce') && 'nonce',
      !q.get('state') && 'state',
    ].filter(Boolean);
    if (problems.length > 0 || !launch)
      return void response.writeHead(400).end(`bad request: ${problems.join(', ')}`);
    const idToken = await this.sign(this.claims(launch, q.get('nonce')!));
    const fields = { id_token: idToken, state: q.get('state')! };
    response
      .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
      .end(autoPost(q.get('redirect_uri')!, fields));
  }

  async #startAssessment(body: string, response: http.ServerResponse): Promise<void> {
    const jwt = new URLSearchParams(body).get('JWT');
    try {
      if (!jwt || !this.#toolJwks) throw new Error('no JWT field');
      const verified = await jwtVerify(jwt, this.#toolJwks, {
        algorithms: ['RS256'],
        issuer: this.clientId,
        audience: this.issuer,
      });
      this.started.push({ payload: verified.payload, header: verified.protectedHeader });
      response
        .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
        .end(
          '<!doctype html><title>Assessment</title><h1 data-testid="assessment">The assessment has started</h1>',
        );
    } catch (error) {
      this.startRejected.push(String(error));
      response.writeHead(401).end('refused');
    }
  }

  async #token(body: string, response: http.ServerResponse): Promise<void> {
    const form = new URLSearchParams(body);
    try {
      if (form.get('grant_type') !== 'client_credentials') throw new Error('grant_type');
      if (form.get('client_assertion_type') !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') {
        throw new Error('client_assertion_type');
      }
      if (form.get('scope') !== controlScope) throw new Error('scope');
      if (!this.#toolJwks) throw new Error('no tool');
      const { payload } = await jwtVerify(form.get('client_assertion') ?? '', this.#toolJwks, {
        algorithms: ['RS256'],
        issuer: this.clientId,
        subject: this.clientId,
        audience: `${this.url}/token`,
      });
      const token = randomBytes(24).toString('hex');
      this.tokensIssued.push({ token, scope: form.get('scope')!, assertion: payload });
      json(response, 200, {
        access_token: token,
        token_type: 'bearer',
        expires_in: 3600,
        scope: controlScope,
      });
    } catch (error) {
      this.tokenRejected.push(String(error));
      json(response, 400, { error: 'invalid_client' });
    }
  }

  #control(request: http.IncomingMessage, body: string, response: http.ServerResponse): void {
    const token = (request.headers.authorization ?? '').replace(/^Bearer /, '');
    if (!this.tokensIssued.some((issued) => issued.token === token))
      return json(response, 401, { error: 'token' });
    if (this.controlFailures > 0) {
      this.controlFailures -= 1;
      return json(response, 503, { error: 'busy' });
    }
    const parsed = JSON.parse(body) as Record<string, unknown>;
    this.controls.push({ body: parsed, contentType: request.headers['content-type'], token });
    const statusByAction: Record<string, string> = {
      terminate: 'terminated',
      pause: 'paused',
      resume: 'active',
      flag: 'flagged',
    };
    response
      .writeHead(200, { 'content-type': controlMediaType })
      .end(JSON.stringify({ status: statusByAction[String(parsed.action)] ?? 'active' }));
  }
}

function json(response: http.ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

async function readBody(request: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const escapeAttr = (value: string) => value.replace(/[&"<>]/g, (c) => `&#${c.charCodeAt(0)};`);

function autoPost(action: string, fields: Record<string, string>): string {
  const inputs = Object.entries(fields)
    .map(([name, value]) => `<input type="hidden" name="${escapeAttr(name)}" value="${escapeAttr(value)}">`)
    .join('');
  return `<!doctype html><title>Signing in</title><form method="post" action="${escapeAttr(action)}">${inputs}</form><script>document.forms[0].submit()</script>`;
}

export interface LoginStep {
  state: string;
  nonce: string;
  /** `name=value` of the state cookie the tool set. */
  cookie: string;
  location: URL;
}

export interface LaunchResult {
  status: number;
  location: string | null;
  text: string;
  headers: Headers;
}

/** Drives the tool's login and launch without a browser, the way a browser would. */
export class LaunchDriver {
  constructor(readonly toolUrl: string) {}

  /** Login initiation as the platform's link does it; returns what the tool sent to the platform. */
  async login(from: LtiPlatform, launch: Launch = {}): Promise<LoginStep> {
    const response = await fetch(from.loginUrl(launch), { redirect: 'manual' });
    if (response.status !== 302)
      throw new Error(`login answered ${response.status}: ${await response.text()}`);
    const location = new URL(response.headers.get('location')!);
    return {
      state: location.searchParams.get('state')!,
      nonce: location.searchParams.get('nonce')!,
      cookie: response.headers.get('set-cookie')!.split(';')[0]!,
      location,
    };
  }

  async postLaunch(form: Record<string, string>, cookie?: string): Promise<LaunchResult> {
    const response = await fetch(`${this.toolUrl}/lti/launch`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...(cookie ? { cookie } : {}) },
      body: new URLSearchParams(form),
    });
    return {
      status: response.status,
      location: response.headers.get('location'),
      text: await response.text(),
      headers: response.headers,
    };
  }

  /** A whole launch: login, a token signed as the platform would (or with `sign` options), the post. */
  async launch(from: LtiPlatform, launch: Launch = {}, sign: SignOptions = {}) {
    const step = await this.login(from, launch);
    const idToken = await from.sign(from.claims(launch, step.nonce), sign);
    return {
      step,
      idToken,
      result: await this.postLaunch({ id_token: idToken, state: step.state }, step.cookie),
    };
  }
}

/** The candidate token and session id of a launch's redirect to the candidate page. */
export function sessionOfRedirect(location: string | null): { token: string; sessionId: string } {
  if (!location?.startsWith('/candidate?token='))
    throw new Error(`not a candidate page redirect: ${location}`);
  const token = decodeURIComponent(location.split('token=')[1]!);
  const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as {
    sid: string;
  };
  return { token, sessionId: claims.sid };
}
