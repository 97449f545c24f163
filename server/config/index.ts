import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { environmentSchema } from './schema.js';

export type JwtKeys =
  | { algorithm: 'HS256'; secret: string }
  | { algorithm: 'RS256'; publicKey: string; privateKey: string | undefined };

export interface Config {
  env: 'development' | 'production' | 'test';
  port: number;
  host: string;
  publicUrl: string;
  dataDir: string;
  databaseUrl: string | undefined;
  redisUrl: string | undefined;
  jwt: JwtKeys & {
    issuer: string;
    audience: string;
    accessTokenTtlSeconds: number;
    refreshTokenTtlSeconds: number;
  };
  rtc: { announcedIp: string; minPort: number; maxPort: number; workers: number };
  turn: { urls: string[]; secret: string; ttlSeconds: number } | undefined;
  analysis: {
    backend: 'auto' | 'tfjs-node-gpu' | 'tfjs-node' | 'onnx' | 'wasm';
    threads: number | undefined;
    objectShare: number;
    monitorFps: number;
    challengeFps: number;
  };
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  trustProxy: boolean;
  rateLimit: { perMinute: number; authFailures: number; authFailureWindowSeconds: number };
  /** Days a session's evidence is kept after the session ended; undefined keeps it. */
  evidenceRetentionDays: number | undefined;
  /** Webhook delivery: whether targets on loopback / private networks are allowed. */
  webhooks: { allowPrivateTargets: boolean };
  /** LTI: whether platform URLs on loopback / private networks are allowed. */
  lti: { allowPrivateTargets: boolean };
  /** Seconds to receive a request's headers, and its body (large bodies get a rate floor on top). */
  requestTimeoutSeconds: number;
  /** PostgreSQL connect and statement timeout (seconds); API requests get this plus 5 s. */
  databaseTimeoutSeconds: number;
  /** The plan (and so the limits) of tenants without one of their own. */
  defaultPlan: 'free' | 'pro' | 'enterprise';
}

/** Thrown when the environment is unusable; the message names the variable. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Parses the environment once at start-up. Every problem is reported together, each line
 * naming its variable, so an operator can fix them in one go.
 */
export function loadConfig(environment: NodeJS.ProcessEnv = process.env): Config {
  // An empty variable means "not set": `FOO= vigil serve` must not become FOO="".
  const present = Object.fromEntries(Object.entries(environment).filter(([, value]) => value !== ''));
  const parsed = environmentSchema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  if (e.RTC_MIN_PORT > e.RTC_MAX_PORT) {
    throw new ConfigError('invalid configuration:\n  RTC_MIN_PORT: must not be greater than RTC_MAX_PORT');
  }
  const dataDir = path.resolve(e.DATA_DIR);
  return {
    env: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST,
    publicUrl: (e.PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, ''),
    dataDir,
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    jwt: {
      ...resolveJwtKeys(e, dataDir),
      issuer: e.JWT_ISSUER,
      audience: e.JWT_AUDIENCE,
      accessTokenTtlSeconds: e.ACCESS_TOKEN_TTL_SECONDS,
      refreshTokenTtlSeconds: e.REFRESH_TOKEN_TTL_SECONDS,
    },
    rtc: {
      announcedIp: e.RTC_ANNOUNCED_IP,
      minPort: e.RTC_MIN_PORT,
      maxPort: e.RTC_MAX_PORT,
      workers: e.MEDIA_WORKERS,
    },
    turn: e.TURN_URLS
      ? {
          urls: e.TURN_URLS,
          secret: requireTurnSecret(e.TURN_SECRET),
          ttlSeconds: e.TURN_CREDENTIAL_TTL_SECONDS,
        }
      : undefined,
    analysis: {
      backend: e.ANALYSIS_BACKEND,
      threads: e.ANALYSIS_THREADS,
      objectShare: e.ANALYSIS_OBJECT_SHARE,
      monitorFps: e.MONITOR_FPS,
      challengeFps: e.CHALLENGE_FPS,
    },
    logLevel: e.LOG_LEVEL,
    trustProxy: e.TRUST_PROXY,
    rateLimit: {
      perMinute: e.RATE_LIMIT_PER_MINUTE,
      authFailures: e.AUTH_FAILURE_LIMIT,
      authFailureWindowSeconds: e.AUTH_FAILURE_WINDOW_SECONDS,
    },
    evidenceRetentionDays: e.EVIDENCE_RETENTION_DAYS,
    webhooks: { allowPrivateTargets: e.WEBHOOK_ALLOW_PRIVATE_TARGETS },
    lti: { allowPrivateTargets: e.LTI_ALLOW_PRIVATE_TARGETS },
    requestTimeoutSeconds: e.REQUEST_TIMEOUT_SECONDS,
    databaseTimeoutSeconds: e.DATABASE_TIMEOUT_SECONDS,
    defaultPlan: e.DEFAULT_PLAN,
  };
}

function requireTurnSecret(secret: string | undefined): string {
  if (!secret) throw new ConfigError('invalid configuration:\n  TURN_SECRET: required with TURN_URLS');
  return secret;
}

interface JwtEnvironment {
  NODE_ENV: string;
  JWT_SECRET?: string | undefined;
  JWT_PUBLIC_KEY?: string | undefined;
  JWT_PRIVATE_KEY?: string | undefined;
}

function resolveJwtKeys(e: JwtEnvironment, dataDir: string): JwtKeys {
  if (e.JWT_PUBLIC_KEY || e.JWT_PRIVATE_KEY) {
    if (!e.JWT_PUBLIC_KEY)
      throw new ConfigError('invalid configuration:\n  JWT_PUBLIC_KEY: required with JWT_PRIVATE_KEY');
    return {
      algorithm: 'RS256',
      publicKey: pem(e.JWT_PUBLIC_KEY),
      privateKey: e.JWT_PRIVATE_KEY && pem(e.JWT_PRIVATE_KEY),
    };
  }
  if (e.JWT_SECRET) return { algorithm: 'HS256', secret: e.JWT_SECRET };
  if (e.NODE_ENV === 'production') {
    throw new ConfigError('invalid configuration:\n  JWT_SECRET: required when NODE_ENV=production');
  }
  return { algorithm: 'HS256', secret: developmentSecret(dataDir) };
}

/** Keys may be given inline with `\n` escapes (handy in .env files and Kubernetes secrets). */
function pem(value: string): string {
  return value.includes('\\n') ? value.replaceAll('\\n', '\n') : value;
}

/** Development only: a random secret generated once and kept in $DATA_DIR so tokens survive restarts. */
function developmentSecret(dataDir: string): string {
  const file = path.join(dataDir, 'jwt-secret');
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    fs.mkdirSync(dataDir, { recursive: true });
    const secret = randomBytes(48).toString('base64url');
    try {
      fs.writeFileSync(file, secret, { mode: 0o600, flag: 'wx' });
      return secret;
    } catch (error) {
      // Another process (e.g. `vigil migrate` beside `vigil serve`) wrote it first: use theirs.
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return fs.readFileSync(file, 'utf8').trim();
      throw error;
    }
  }
}
