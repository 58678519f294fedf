import cron, { type ScheduledTask } from 'node-cron';
import type { Logger } from 'pino';
import type { Counter, Registry } from 'prom-client';
import { catalog } from '../metrics/catalog.js';
import { quoteIdent } from '../sql/identifiers.js';
import { CachedReading } from '../state/cached-reading.js';
import type { StateDb } from '../state/db.js';
import { backoffDelay, OutboxDrain, postJson, registerOutboxMetrics } from '../state/outbox.js';
import { buildReport, periodEnding } from './build.js';
import type { ReportConfig } from './config.js';
import { prometheusClient } from './prometheus.js';
import { type ClaimedReport, ReportLog } from './store.js';

export interface ReportServiceOptions {
  db: StateDb;
  schema: string;
  log: Logger;
  /** Whether the state store is migrated (StateService): nothing is read or written before. */
  isReady: () => boolean;
  /** The clock for created_at and due attempts (tests move it). */
  now?: () => Date;
  /** How often due posts and unrecorded ticks are retried (default 5 s). */
  pollMs?: number;
  /** The first retry's delay (default 10 s), doubling up to the cap (default 10 min). */
  backoffMs?: number;
  backoffCapMs?: number;
  /** How often the pending count behind mlwatch_report_post_pending is re-read (default 15 s). */
  refreshMs?: number;
}

// The cadence is weekly, so a report covers the 7 days before its tick and compares the checks' 7d window.
export const REPORT_PERIOD = { ms: 7 * 86_400_000, window: '7d' };
// A claim outlives the webhook's timeout by this much, so another replica never takes an attempt in flight.
const LEASE_MARGIN_MS = 60_000;

/**
 * The weekly review as the running exporter does it: at each tick of `report.cron` it builds the review of the
 * 7 days before the tick, keeps it in the state store and posts it to `report.webhook`. Every replica ticks;
 * the period's end (the tick's minute) is unique in the store, so one report is kept and posted once. A post
 * that fails is retried with backoff from the store, also after a restart.
 */
export class ReportService {
  readonly reports: ReportLog;
  private config?: ReportConfig | undefined;
  private task?: ScheduledTask;
  /** A tick the store could not take yet (down): retried with the poll, for the same period. */
  private unrecorded?: Date;
  private timer?: NodeJS.Timeout;
  private readonly drain: OutboxDrain;
  private stopped = false;
  private readonly pending: CachedReading<number>;
  private failures?: Counter;

  constructor(private readonly o: ReportServiceOptions) {
    this.reports = new ReportLog(o.db, quoteIdent(o.schema));
    this.pending = new CachedReading({
      initial: 0,
      read: () => this.reports.pendingCount(),
      isReady: o.isReady,
      log: o.log,
      what: 'the pending weekly reviews',
      everyMs: o.refreshMs,
    });
    this.drain = new OutboxDrain({
      log: o.log,
      what: 'report post',
      canRun: () => !this.stopped && this.o.isReady() && this.config?.webhook !== undefined,
      next: () => this.next(),
      afterDelivery: () => this.refresh(),
    });
  }

  private now(): Date {
    return this.o.now ? this.o.now() : new Date();
  }

  /** Takes the `report` section (at start and after a reload); without it there is no cadence. */
  configure(config: ReportConfig | undefined): void {
    void this.task?.destroy();
    this.task = undefined;
    this.config = config;
    if (!config || this.stopped) return;
    this.task = cron.schedule(config.cron, (ctx) => void this.tick(ctx.date), {
      name: 'report',
      suppressMissedWarning: true,
      unref: true,
    });
  }

  start(): void {
    this.timer = setInterval(() => void this.loop(), this.o.pollMs ?? 5000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.task?.destroy();
    this.task = undefined;
    await this.drain.inFlight();
  }

  /**
   * Builds and keeps the review of the period ending at the tick's minute; resolves with the report's id when
   * this replica stored it, undefined when another one had (or it could not be stored: retried).
   */
  async tick(at: Date = this.now()): Promise<number | undefined> {
    const c = this.config;
    if (!c) return undefined;
    const end = new Date(Math.floor(at.getTime() / 60_000) * 60_000);
    try {
      if (!this.o.isReady()) throw new Error('state store not ready');
      const built = await buildReport({
        period: periodEnding(end, REPORT_PERIOD.ms, REPORT_PERIOD.window),
        prometheus: prometheusClient(c.prometheus_url, c.timeout),
        state: { db: this.o.db, schemaSql: quoteIdent(this.o.schema) },
      });
      for (const w of built.warnings) this.o.log.warn({ period_end: end }, `weekly review: ${w}`);
      const id = await this.reports.store(built.period, built.markdown, c.webhook !== undefined, this.now());
      this.unrecorded = undefined;
      this.o.log.info({ period_end: end, id, stored: id !== undefined }, 'weekly review built');
      if (id !== undefined) {
        await this.refresh();
        void this.dispatchDue();
      }
      return id;
    } catch (err) {
      this.unrecorded = at;
      this.o.log.warn({ err: (err as Error).message }, 'cannot keep the weekly review yet; retrying');
      return undefined;
    }
  }

  /** Posts every due report one after the other; resolves with how many went out. Never overlaps. */
  dispatchDue(): Promise<number> {
    return this.drain.drain();
  }

  private async next(): Promise<boolean | undefined> {
    const c = this.config;
    if (!c?.webhook) return undefined;
    const claim = await this.reports.claimDue(this.now(), c.timeout + LEASE_MARGIN_MS);
    return claim ? this.attempt(claim, c, c.webhook) : undefined;
  }

  private async attempt(r: ClaimedReport, c: ReportConfig, url: string): Promise<boolean> {
    const error = await postJson({
      url,
      // At-least-once on a crash mid-attempt: the receiver can drop a period it already has.
      headers: { 'idempotency-key': `mlwatch-report-${r.periodEnd}`, ...c.headers },
      body: { period: { start: r.periodStart, end: r.periodEnd }, markdown: r.markdown },
      timeoutMs: c.timeout,
    });
    const at = this.now();
    if (error === undefined) {
      await this.reports.finish(r, { ok: true, at });
      this.o.log.info({ report: r.id, period_end: r.periodEnd }, 'weekly review posted');
      return true;
    }
    this.failures?.inc();
    const delay = backoffDelay(r.failures + 1, this.o.backoffMs ?? 10_000, this.o.backoffCapMs ?? 600_000);
    await this.reports.finish(r, { ok: false, error, retryAt: new Date(at.getTime() + delay) });
    this.o.log.warn({ report: r.id, err: error, retryInMs: delay }, 'weekly review post failed; will retry');
    return false;
  }

  private async loop(): Promise<void> {
    if (this.stopped || !this.o.isReady()) return;
    if (this.unrecorded) await this.tick(this.unrecorded);
    await this.dispatchDue();
    await this.pending.refreshIfDue();
  }

  /** Re-reads the pending count behind the gauge, without failing the caller. */
  refresh(): Promise<void> {
    return this.pending.refresh();
  }

  /**
   * The gauge comes from the cached count: /metrics never waits on the store. Both are exported with or without
   * `report.webhook` (it follows reloads): without one nothing is pending and nothing fails.
   */
  register(registry: Registry): void {
    this.failures = registerOutboxMetrics(
      registry,
      { pending: catalog.reportPostPending, failures: catalog.reportPostFailures },
      () => this.pending.value,
    );
  }
}
