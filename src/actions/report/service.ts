import cron, { type ScheduledTask } from 'node-cron';
import type { Counter, Registry } from 'prom-client';
import { quoteIdent } from '../../sql/identifiers.js';
import { actionFamilies } from '../families.js';
import { ActionService, LEASE_MARGIN_MS, type ServiceOptions } from '../lifecycle.js';
import { CachedReading } from '../store/cached-reading.js';
import type { StateDb } from '../store/db.js';
import { OutboxDrain, postJson, registerOutboxMetrics } from '../store/outbox.js';
import { buildReport, periodEnding } from './build.js';
import type { ReportConfig } from './config.js';
import type { NowSource } from './now/values.js';
import { prometheusClient } from './prometheus.js';
import { type ClaimedReport, ReportLog } from './store.js';

/** Each round retries an unrecorded tick and posts due reports; refreshMs paces mlwatch_report_post_pending. */
export interface ReportServiceOptions extends ServiceOptions {
  db: StateDb;
  schema: string;
  /** The running exporter's values now, for the sections Prometheus cannot give (now/running.ts). */
  valuesNow?: NowSource | undefined;
}

// The cadence is weekly, so a report covers the 7 days before its tick and compares the checks' 7d window.
export const REPORT_PERIOD = { ms: 7 * 86_400_000, window: '7d' };

/**
 * The weekly review as the running exporter does it: at each tick of `report.cron` it builds the review of the
 * 7 days before the tick, keeps it in the state store and posts it to `report.webhook`. Every replica ticks;
 * the period's end (the tick's minute) is unique in the store, so one report is kept and posted once. A post
 * that fails is retried with backoff from the store, also after a restart.
 */
export class ReportService extends ActionService<ReportServiceOptions> {
  readonly reports: ReportLog;
  private config?: ReportConfig | undefined;
  private task?: ScheduledTask;
  /** A tick the store could not take yet (down): retried with the poll, for the same period. */
  private unrecorded?: Date;
  private readonly drain: OutboxDrain;
  private readonly pending: CachedReading<number>;
  private failures?: Counter;

  constructor(o: ReportServiceOptions) {
    super(o);
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

  protected async onStop(): Promise<void> {
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
        now: this.o.valuesNow,
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
    const delay = this.retryDelayMs(r.failures + 1);
    await this.reports.finish(r, { ok: false, error, retryAt: new Date(at.getTime() + delay) });
    this.o.log.warn({ report: r.id, err: error, retryInMs: delay }, 'weekly review post failed; will retry');
    return false;
  }

  protected async round(): Promise<void> {
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
      { pending: actionFamilies.reportPostPending, failures: actionFamilies.reportPostFailures },
      () => this.pending.value,
    );
  }
}
