import { sql } from 'drizzle-orm';
import { Counter, type Registry } from 'prom-client';
import { usageCounters, type Database, type UsageMetric } from '../db/index.js';
import { isUnavailable, runPeriodically, type Logger } from '../shared/index.js';

const flushEveryMs = 15_000;
/** A longer gap between two analysed frames of a session is not monitoring time (the stream was away). */
const maxFrameGapMs = 10_000;
/** Tenants given their own Prometheus label per process; the rest share `tenant="other"`. */
const maxTenantLabels = 100;

/**
 * Counts usage in memory and adds it to the per-tenant, per-hour rows of `usage_counters` every
 * 15 s (and on close), so a request or a frame costs a map update, never a row.
 */
export class UsageMeter {
  readonly #db: Database;
  readonly #logger: Logger;
  /** `tenantId|hourIso|metric` → amount not yet flushed. */
  #pending = new Map<string, number>();
  /** sessionId → when its last analysed frame was counted. */
  readonly #lastFrameAt = new Map<string, number>();
  readonly #labelledTenants = new Set<string>();
  #counter: Counter<'tenant' | 'metric'> | undefined;
  #flushing: Promise<void> = Promise.resolve();
  #timer: { stop(): Promise<void> } | undefined;

  constructor(options: { db: Database; logger: Logger }) {
    this.#db = options.db;
    this.#logger = options.logger;
  }

  /** Starts the periodic flush (`vigil serve`; tools that only read usage need not). */
  start(): void {
    this.#timer ??= runPeriodically(() => this.flush(), {
      intervalMs: flushEveryMs,
      firstDelayMs: flushEveryMs,
      logger: this.#logger,
      what: 'usage flush',
    });
  }

  /** Exposes the counts as `vigil_usage_total{tenant,metric}` on the app's /metrics. */
  exposeMetrics(registry: Registry): void {
    this.#counter = new Counter({
      name: 'vigil_usage_total',
      help: 'Usage counted per tenant (the first 100 tenants seen by this process; others as "other")',
      labelNames: ['tenant', 'metric'] as const,
      registers: [registry],
    });
  }

  count(tenantId: string, metric: UsageMetric, amount = 1, at = Date.now()): void {
    if (amount <= 0) return;
    const key = `${tenantId}|${hourOf(at)}|${metric}`;
    this.#pending.set(key, (this.#pending.get(key) ?? 0) + amount);
    this.#counter?.inc({ tenant: this.#tenantLabel(tenantId), metric }, amount);
  }

  /** One analysed frame: counts the frame, and the time since the session's last one as monitored. */
  frameAnalysed(tenantId: string, sessionId: string, at = Date.now()): void {
    this.count(tenantId, 'frames_analysed', 1, at);
    const last = this.#lastFrameAt.get(sessionId);
    this.#lastFrameAt.set(sessionId, at);
    if (last !== undefined && at > last && at - last <= maxFrameGapMs) {
      this.count(tenantId, 'candidate_seconds', (at - last) / 1000, at);
    }
  }

  /**
   * Adds what was counted to the database, one flush at a time. A flush that fails because the
   * database is away keeps its counts for the next one (its error goes to this caller only).
   */
  flush(): Promise<void> {
    const next = this.#flushing.then(() => this.#flushOnce());
    this.#flushing = next.catch(() => undefined);
    return next;
  }

  async close(): Promise<void> {
    await this.#timer?.stop();
    await this.flush();
  }

  async #flushOnce(): Promise<void> {
    const now = Date.now();
    for (const [sessionId, at] of this.#lastFrameAt) {
      if (now - at > maxFrameGapMs) this.#lastFrameAt.delete(sessionId);
    }
    if (this.#pending.size === 0) return;
    const batch = this.#pending;
    this.#pending = new Map();
    const rows = [];
    for (const [key, value] of batch) {
      const whole = Math.floor(value);
      // Fractions (monitored seconds) wait for the next flush rather than being rounded away.
      if (value > whole) this.#pending.set(key, (this.#pending.get(key) ?? 0) + value - whole);
      if (whole === 0) continue;
      const [tenantId = '', hour = '', metric = ''] = key.split('|');
      rows.push({ tenantId, hour: new Date(hour), metric: metric as UsageMetric, value: whole });
    }
    if (rows.length === 0) return;
    try {
      await this.#db
        .insert(usageCounters)
        .values(rows)
        .onConflictDoUpdate({
          target: [usageCounters.tenantId, usageCounters.hour, usageCounters.metric],
          set: { value: sql`${usageCounters.value} + excluded.value` },
        });
    } catch (error) {
      // Another failure (a tenant deleted meanwhile) would fail every retry: those counts go.
      if (!isUnavailable(error)) {
        this.#logger.error({ err: error, rows: rows.length }, 'usage counts could not be stored');
        return;
      }
      // Put the batch back so nothing counted is lost while the database is away.
      for (const row of rows) {
        const key = `${row.tenantId}|${row.hour.toISOString()}|${row.metric}`;
        this.#pending.set(key, (this.#pending.get(key) ?? 0) + row.value);
      }
      throw error;
    }
  }

  #tenantLabel(tenantId: string): string {
    if (this.#labelledTenants.has(tenantId)) return tenantId;
    if (this.#labelledTenants.size >= maxTenantLabels) return 'other';
    this.#labelledTenants.add(tenantId);
    return tenantId;
  }
}

function hourOf(at: number): string {
  const hour = new Date(at);
  hour.setUTCMinutes(0, 0, 0);
  return hour.toISOString();
}
