import os from 'node:os';
import { z } from 'zod';

/** A positive integer given as an environment string. */
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const booleanString = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((value) => value === 'true' || value === '1' || value === 'yes');

/**
 * Every environment variable Vigil reads, with its default. Contract variables first
 * (../shared/CONTRACT.md, "Configuration"), then Vigil's own knobs.
 */
export const environmentSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: int(0, 65535).default(8080),
  HOST: z.string().min(1).default('0.0.0.0'),
  PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
  DATA_DIR: z.string().min(1).default('./data'),
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
  JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  JWT_PUBLIC_KEY: z.string().min(1).optional(),
  JWT_PRIVATE_KEY: z.string().min(1).optional(),
  JWT_ISSUER: z.string().min(1).default('vigil'),
  JWT_AUDIENCE: z.string().min(1).default('vigil'),
  ACCESS_TOKEN_TTL_SECONDS: int(60, 86_400).default(900),
  REFRESH_TOKEN_TTL_SECONDS: int(300, 90 * 86_400).default(14 * 86_400),
  RTC_ANNOUNCED_IP: z.string().min(1).default('127.0.0.1'),
  RTC_MIN_PORT: int(1024, 65535).default(40000),
  RTC_MAX_PORT: int(1024, 65535).default(49999),
  MEDIA_WORKERS: int(1, 256).default(os.availableParallelism()),
  /** Comma-separated TURN URLs (e.g. `turns:turn.example.org:443?transport=tcp`) handed to pages. */
  TURN_URLS: z
    .string()
    .transform((value) =>
      value
        .split(',')
        .map((url) => url.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.string().regex(/^turns?:[^\s]+$/, 'each entry must be a turn: or turns: URL')).min(1))
    .optional(),
  /** coturn's `static-auth-secret`: pages get short-lived credentials derived from it. */
  TURN_SECRET: z.string().min(16).optional(),
  TURN_CREDENTIAL_TTL_SECONDS: int(60, 86_400).default(3600),
  ANALYSIS_BACKEND: z.enum(['auto', 'tfjs-node-gpu', 'tfjs-node', 'onnx', 'wasm']).default('auto'),
  /** Analysis worker threads; unset: the cores less one on wasm (each thread holds its own models). */
  ANALYSIS_THREADS: int(1, 64).optional(),
  /** Share of the analysis threads' time the object model (phones) may take under the cascade. */
  ANALYSIS_OBJECT_SHARE: z.coerce.number().min(0.02).max(1).default(0.2),
  MONITOR_FPS: z.coerce.number().positive().max(30).default(1),
  CHALLENGE_FPS: z.coerce.number().positive().max(30).default(10),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  TRUST_PROXY: booleanString.default(false),
  RATE_LIMIT_PER_MINUTE: int(1, 1_000_000).default(1200),
  AUTH_FAILURE_LIMIT: int(1, 1000).default(10),
  AUTH_FAILURE_WINDOW_SECONDS: int(1, 86_400).default(60),
  /** PostgreSQL: connect and statement timeout; an API request waits at most 5 s longer. */
  DATABASE_TIMEOUT_SECONDS: int(1, 600).default(10),
  /** Time to receive a request's headers, and its body (large uploads: plus a rate floor). */
  REQUEST_TIMEOUT_SECONDS: int(1, 3600).default(30),
  /** Evidence of sessions that ended longer ago than this is deleted; unset keeps it forever. */
  EVIDENCE_RETENTION_DAYS: int(1, 36_500).optional(),
  /** Let webhooks reach loopback and private networks (tests, on-premises consumers); SSRF guard off. */
  WEBHOOK_ALLOW_PRIVATE_TARGETS: booleanString.default(false),
  /** Let LTI platform URLs (JWKS, token, Assessment Control) be on loopback and private networks. */
  LTI_ALLOW_PRIVATE_TARGETS: booleanString.default(false),
  /** The plan of a tenant that was never given one (`vigil tenant plan`); self-hosted: unlimited. */
  DEFAULT_PLAN: z.enum(['free', 'pro', 'enterprise']).default('enterprise'),
});

export type Environment = z.infer<typeof environmentSchema>;
