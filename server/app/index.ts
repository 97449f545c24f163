import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { startControlSocket, type ControlSocket } from '../admin/index.js';
import { AnalysisEngine } from '../analysis/index.js';
import { TokenService } from '../auth/index.js';
import type { Config } from '../config/index.js';
import { openDatabase } from '../db/index.js';
import { LocalEvidenceStore, scheduleRetention } from '../evidence/index.js';
import type { ViolationType } from '../db/index.js';
import { createHttpApp } from '../http/index.js';
import { MediaService } from '../media/index.js';
import { Monitor, type Decision } from '../monitoring/index.js';
import { ProctoringEvents, ViolationRules, scheduleDeadlines, type Timing } from '../proctoring/index.js';
import { attachRealtime, type Realtime } from '../realtime/index.js';
import { SamplerService, ffmpegFix, resolveFfmpegOnce } from '../sampler/index.js';
import { createRateLimiter } from '../ratelimit/index.js';
import { createRedis } from '../redis/index.js';
import { startLtiBackground } from '../lti/index.js';
import { createLogger, secureDataDir, type Logger } from '../shared/index.js';
import { UsageMeter } from '../usage/index.js';
import { startWebhookDelivery, type WebhookDeliveryOptions } from '../webhooks/index.js';
import { AnalysisStatus, engineFix } from './analysis-status.js';
import type { ServiceContext } from './context.js';

export type { ServiceContext } from './context.js';

export interface ContextOptions {
  logger?: Logger;
  /** Namespace for shared Redis keys; lets independent deployments (or tests) share one Redis. */
  redisKeyPrefix?: string;
}

/** Opens the database (applying migrations) and Redis, and builds the services on top. */
export async function buildContext(config: Config, options: ContextOptions = {}): Promise<ServiceContext> {
  const logger =
    options.logger ??
    createLogger(config.logLevel, { pretty: process.stdout.isTTY && config.env !== 'production' });
  secureDataDir(config.dataDir, (object, message) => logger.warn(object, message));
  const database = await openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    timeoutSeconds: config.databaseTimeoutSeconds,
  });
  try {
    await database.migrate();
  } catch (error) {
    await database.close();
    throw error;
  }
  const redis = config.redisUrl ? createRedis(config.redisUrl, logger, { name: 'commands' }) : undefined;
  return {
    config,
    logger,
    database,
    db: database.db,
    redis,
    tokens: new TokenService(config.jwt),
    rateLimiter: createRateLimiter({
      limits: config.rateLimit,
      redis,
      keyPrefix: `${options.redisKeyPrefix ?? 'vigil'}:rl`,
    }),
    events: new ProctoringEvents(),
    evidenceStore: new LocalEvidenceStore(path.join(config.dataDir, 'evidence')),
    analysis: undefined,
    usage: new UsageMeter({ db: database.db, logger: logger.child({ component: 'usage' }) }),
  };
}

export interface VigilApp {
  http: FastifyInstance;
  context: ServiceContext;
  /** Absent when the app was built without live media (`{ media: false }`). */
  media: MediaService | undefined;
  realtime: Realtime | undefined;
  sampler: SamplerService | undefined;
  monitor: Monitor | undefined;
  /** Starts listening; resolves to the base URL (port 0 picks a free port). */
  listen(port?: number, host?: string): Promise<string>;
  /** Stops accepting requests, then closes media, Redis and the database. Safe to call twice. */
  close(): Promise<void>;
}

export interface AppOptions {
  /** Start the SFU and socket.io (default). REST-only tools and tests can leave them out. */
  media?: boolean;
  /** Load the analysis models and watch live streams (default). */
  analysis?: boolean;
  /** Rule timings, e.g. shorter ones in tests. */
  timings?: Partial<Record<ViolationType, Timing>>;
  /** Analysis worker threads (benchmarks); default: the engine's own choice. */
  analysisThreads?: number;
  /** Called once each analysed frame has been decided on (benchmarks). */
  onDecision?: (decision: Decision) => void;
  /** Webhook delivery knobs (tests: a short retry schedule and poll interval). */
  webhooks?: WebhookDeliveryOptions;
}

export async function createApp(baseContext: ServiceContext, options: AppOptions = {}): Promise<VigilApp> {
  const { config, logger } = baseContext;
  const analysisStatus = new AnalysisStatus();
  const analysis =
    options.analysis === false ? undefined : await startEngine(baseContext, options, analysisStatus);
  const context: ServiceContext = { ...baseContext, analysis, analysisStatus };
  const http = await createHttpApp(context);
  const media =
    options.media === false
      ? undefined
      : await MediaService.create({
          workers: config.rtc.workers,
          announcedIp: config.rtc.announcedIp,
          minPort: config.rtc.minPort,
          maxPort: config.rtc.maxPort,
          logger,
        });
  const rules = new ViolationRules({
    db: context.db,
    events: context.events,
    logger,
    timings: options.timings,
  });
  const sampler = media && analysis ? await startSampler(context, media, analysisStatus) : undefined;
  if (!media || options.analysis === false) analysisStatus.set({ status: 'disabled' });
  const monitor =
    sampler && analysis
      ? new Monitor({
          db: context.db,
          events: context.events,
          rules,
          engine: analysis,
          sampler,
          evidenceStore: context.evidenceStore,
          logger: logger.child({ component: 'monitor' }),
          onDecision: (decision) => {
            context.usage.frameAnalysed(decision.tenantId, decision.sessionId);
            options.onDecision?.(decision);
          },
        })
      : undefined;
  const realtime = media
    ? attachRealtime({ server: http.server, context, media, rules, monitor })
    : undefined;
  const retention =
    config.evidenceRetentionDays === undefined
      ? undefined
      : scheduleRetention({
          db: context.db,
          store: context.evidenceStore,
          retentionDays: config.evidenceRetentionDays,
          logger: logger.child({ component: 'retention' }),
        });
  context.usage.start();
  const deadlines = scheduleDeadlines({
    db: context.db,
    events: context.events,
    logger: logger.child({ component: 'deadlines' }),
  });
  const webhooks = startWebhookDelivery(context, options.webhooks);
  const lti = startLtiBackground(context);
  let closing: Promise<void> | undefined;
  let controlSocket: ControlSocket | undefined;
  return {
    http,
    context,
    media,
    realtime,
    sampler,
    monitor,
    async listen(port = config.port, host = config.host) {
      await http.listen({ port, host });
      // The embedded database is this process's alone: CLI commands come to it over a socket.
      if (context.database.kind === 'pglite' && !controlSocket) {
        controlSocket = await startControlSocket({
          dataDir: config.dataDir,
          db: context.db,
          databaseKind: context.database.kind,
          logger,
        });
      }
      const address = http.server.address();
      const actualPort = typeof address === 'object' && address ? address.port : port;
      return `http://${host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host}:${actualPort}`;
    },
    close() {
      closing ??= (async () => {
        await controlSocket?.close();
        await retention?.stop();
        await deadlines.stop();
        await webhooks.close();
        await lti.close();
        monitor?.close();
        await realtime?.close();
        rules.close();
        await sampler?.close();
        media?.close();
        await analysis?.close();
        await http.close();
        await context.usage
          .close()
          .catch((error: unknown) =>
            logger.error({ err: error }, 'the last usage counts could not be stored'),
          );
        context.redis?.disconnect();
        await context.database.close();
      })();
      return closing;
    },
  };
}

/** Without the engine the service runs, minus stream analysis, and says so (analysis-status.ts). */
async function startEngine(
  context: ServiceContext,
  options: AppOptions,
  status: AnalysisStatus,
): Promise<AnalysisEngine | undefined> {
  try {
    return await AnalysisEngine.create({
      backend: context.config.analysis.backend,
      threads: options.analysisThreads ?? context.config.analysis.threads,
      objectShare: context.config.analysis.objectShare,
      logger: context.logger.child({ component: 'analysis' }),
    });
  } catch (error) {
    const reason = `the analysis engine could not load: ${error instanceof Error ? error.message : String(error)}`;
    status.set({ status: 'off', part: 'engine', reason, fix: engineFix });
    context.logger.error({ err: error }, `stream analysis is off: ${reason}. Fix: ${engineFix}`);
    return undefined;
  }
}

/** The stream tap needs an ffmpeg that can decode RTP (ffmpeg-binary.ts chooses one by capability). */
async function startSampler(
  context: ServiceContext,
  media: MediaService,
  status: AnalysisStatus,
): Promise<SamplerService | undefined> {
  try {
    const sampler = await SamplerService.create({
      media,
      logger: context.logger,
      monitorFps: context.config.analysis.monitorFps,
      challengeFps: context.config.analysis.challengeFps,
    });
    const { choice } = await resolveFfmpegOnce();
    if (choice) {
      status.set({
        status: 'on',
        ffmpeg: { path: choice.path, source: choice.source, version: choice.version },
      });
      context.logger.info(
        { ffmpeg: choice.path, source: choice.source, version: choice.version },
        `stream analysis is on: ${choice.source} ffmpeg (${choice.version})`,
      );
    }
    return sampler;
  } catch (error) {
    const reason = `the frame sampler could not start: ${error instanceof Error ? error.message : String(error)}`;
    status.set({ status: 'off', part: 'sampler', reason, fix: ffmpegFix });
    // One line that says what is off, why, and the fix (the reason already ends with it).
    context.logger.error(`stream analysis is off: ${reason}`);
    return undefined;
  }
}
