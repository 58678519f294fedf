import { createHash } from 'node:crypto';
import cron, { type ScheduledTask } from 'node-cron';
import { Counter, Gauge, type Registry } from 'prom-client';
import { quoteIdent } from '../../sql/identifiers.js';
import { actionFamilies } from '../families.js';
import { ActionService, LEASE_MARGIN_MS, type ServiceOptions } from '../lifecycle.js';
import { CachedReading } from '../store/cached-reading.js';
import type { StateDb } from '../store/db.js';
import { OutboxDrain, postJson } from '../store/outbox.js';
import type { WebhookAlert } from '../tickets/alert-payload.js';
import { type ClaimedRequest, type RetrainCounts, RetrainLog, type RetrainTrigger } from './retrain.js';
import { DEFAULT_RETRAIN_TIMEOUT_MS, type RetrainConfig } from './retrain-config.js';

export interface RetrainServiceOptions extends ServiceOptions {
  db: StateDb;
  schema: string;
}

export interface AlertSummary {
  requested: number;
  deduplicated: number;
  duplicates: number;
  ignored: number;
  /**
   * One entry per (alert, model) asked, or per alert ignored as a whole. An alert about a dataset (a `dataset`
   * label, no `model`) has an entry for each model reading that dataset, with `dataset` set.
   */
  alerts: { alertname: string; dataset?: string; model?: string; outcome: string; request?: number }[];
}

/** A model's settings the retrain service needs: its retrain block, and the dataset its features come from. */
export interface RetrainModel {
  name: string;
  retrain?: RetrainConfig | undefined;
  dataset?: string | undefined;
}

// Alertmanager marks an alert without an end with Go's zero time.
const NO_END = '0001-01-01T00:00:00Z';
/**
 * Retraining as the running exporter does it: records triggers (alerts through the webhook, and each model's
 * cadence), dispatches due requests to the model's webhook and retries failed ones with backoff. Every step is
 * in the state store, so a restart resumes where it stopped, and several replicas act once between them.
 */
export class RetrainService extends ActionService<RetrainServiceOptions> {
  readonly log: RetrainLog;
  private models = new Map<string, RetrainConfig>();
  /** Every configured model reading each dataset (models[].dataset), with or without a retrain block. */
  private readers = new Map<string, string[]>();
  private tasks: ScheduledTask[] = [];
  /** Cadence ticks that could not be recorded yet (store down): retried with the dispatch loop. */
  private readonly unrecordedTicks = new Map<string, Date>();
  private failures?: Counter<'model'>;
  private readonly drain: OutboxDrain;

  private readonly counts: CachedReading<RetrainCounts>;

  constructor(o: RetrainServiceOptions) {
    super(o);
    this.log = new RetrainLog(o.db, quoteIdent(o.schema));
    this.counts = new CachedReading({
      initial: { pending: [], last: [] },
      read: () => this.log.counts(),
      isReady: o.isReady,
      log: o.log,
      what: 'retrain counts',
      everyMs: o.refreshMs,
    });
    this.drain = new OutboxDrain({
      log: o.log,
      what: 'retrain dispatch',
      canRun: () => !this.stopped && this.o.isReady(),
      next: () => this.next(),
      afterDelivery: () => this.refresh(),
    });
  }

  /** Takes the models' retrain settings (at start and after a reload) and schedules their cadences. */
  configure(models: readonly RetrainModel[]): void {
    for (const t of this.tasks) void t.destroy();
    this.tasks = [];
    this.models = new Map(models.flatMap((m) => (m.retrain ? [[m.name, m.retrain] as const] : [])));
    this.readers = new Map();
    for (const m of models) {
      if (m.dataset !== undefined)
        this.readers.set(m.dataset, [...(this.readers.get(m.dataset) ?? []), m.name]);
    }
    for (const [model, r] of this.models) {
      this.failures?.inc({ model }, 0);
      if (this.stopped) continue;
      this.tasks.push(
        cron.schedule(r.cadence, (ctx) => void this.cadenceTick(model, ctx.date), {
          name: `retrain:${model}`,
          suppressMissedWarning: true,
          unref: true,
        }),
      );
    }
  }

  protected async onStop(): Promise<void> {
    for (const t of this.tasks) await t.destroy();
    this.tasks = [];
    await this.drain.inFlight();
  }

  /**
   * Records the cadence's request for `model` at the tick scheduled for `at`. The slot (the tick's minute) is
   * the trigger's key: every replica ticks, one records it. A tick the store cannot take is retried.
   */
  async cadenceTick(model: string, at: Date = this.now()): Promise<void> {
    const r = this.models.get(model);
    if (!r) return;
    const slot = new Date(Math.floor(at.getTime() / 60_000) * 60_000);
    try {
      if (!this.o.isReady()) throw new Error('state store not ready');
      const [res] = await this.log.record([
        {
          key: `cadence:${model}:${slot.toISOString()}`,
          model,
          reason: 'cadence',
          detail: { cadence: r.cadence, slot: slot.toISOString() },
          at: slot,
          cooldownMs: r.cooldown,
        },
      ]);
      this.unrecordedTicks.delete(model);
      this.o.log.info({ model, slot, ...res }, 'retrain cadence tick');
      await this.refresh();
      void this.dispatchDue();
    } catch (err) {
      this.unrecordedTicks.set(model, at);
      this.o.log.warn(
        { model, err: (err as Error).message },
        'cannot record the retrain cadence yet; retrying',
      );
    }
  }

  /**
   * The `retraining` receiver. A firing alert with a `model` label is one trigger for that model. A firing
   * alert about a dataset (a `dataset` label and no `model`: feature and dataset drift) is one trigger for
   * each model whose `dataset` is that dataset: drift in a model's input is a reason to retrain that model,
   * and only the config knows which models read which dataset. Each trigger dedupes within its own model's
   * cooldown, so one drift alert asks every reader once, and the next drift alert of the day asks none.
   */
  async ingestAlerts(alerts: readonly WebhookAlert[]): Promise<AlertSummary> {
    const summary: AlertSummary = { requested: 0, deduplicated: 0, duplicates: 0, ignored: 0, alerts: [] };
    const triggers: RetrainTrigger[] = [];
    const at = this.now();
    const entries: AlertSummary['alerts'] = [];
    for (const a of alerts) {
      const alertname = a.labels.alertname ?? '';
      const model = a.labels.model;
      const dataset = model === undefined ? a.labels.dataset : undefined;
      const subject = dataset === undefined ? {} : { dataset };
      if (model === undefined && dataset === undefined) {
        entries.push({ alertname, outcome: 'ignored: alert has no model or dataset label' });
        continue;
      }
      if (a.status !== 'firing') {
        entries.push({
          alertname,
          ...subject,
          ...(model !== undefined ? { model } : {}),
          outcome: 'ignored: resolved',
        });
        continue;
      }
      const asked = model !== undefined ? [model] : (this.readers.get(dataset as string) ?? []);
      if (asked.length === 0) {
        entries.push({ alertname, ...subject, outcome: 'ignored: no model reads the dataset' });
        continue;
      }
      const delivery = createHash('sha256')
        .update(JSON.stringify([a.fingerprint, a.status, a.startsAt, a.endsAt ?? NO_END]))
        .digest('hex');
      for (const m of asked) {
        const r = this.models.get(m);
        if (!r) {
          entries.push({ alertname, ...subject, model: m, outcome: 'ignored: model has no retrain config' });
          continue;
        }
        triggers.push({
          // One delivery of a dataset alert is a trigger per model: the model is in the key, so each model's
          // trigger is recorded (and deduplicated within its cooldown) on its own. An alert with a model label
          // concerns that model only; its key stays the delivery's, as recorded before dataset alerts fanned out.
          key: model !== undefined ? `alert:${delivery}` : `alert:${delivery}:${m}`,
          model: m,
          reason: 'alert',
          detail: {
            alertname,
            fingerprint: a.fingerprint,
            startsAt: a.startsAt,
            labels: a.labels,
            annotations: a.annotations,
          },
          at,
          cooldownMs: r.cooldown,
        });
        entries.push({ alertname, ...subject, model: m, outcome: 'pending' });
      }
    }
    const outcomes = await this.log.record(triggers);
    let i = 0;
    for (const e of entries) {
      if (e.outcome !== 'pending') {
        summary.ignored++;
        summary.alerts.push(e);
        continue;
      }
      const o = outcomes[i++];
      if (!o) continue;
      const key = o.outcome === 'duplicate' ? 'duplicates' : o.outcome;
      summary[key]++;
      summary.alerts.push({ ...e, outcome: o.outcome, request: o.requestId });
    }
    if (summary.requested > 0 || summary.deduplicated > 0) {
      await this.refresh();
      void this.dispatchDue();
    }
    return summary;
  }

  /** Dispatches every due request one after the other; resolves with how many went out. Never overlaps. */
  dispatchDue(): Promise<number> {
    return this.drain.drain();
  }

  /** One claim and its attempt; undefined when nothing is due. */
  private async next(): Promise<boolean | undefined> {
    const claim = await this.log.claimDue(
      this.now(),
      [...this.models.keys()],
      Math.max(...[...this.models.values()].map(timeoutOf)) + LEASE_MARGIN_MS,
    );
    return claim ? this.attempt(claim) : undefined;
  }

  private async attempt(c: ClaimedRequest): Promise<boolean> {
    const r = this.models.get(c.model);
    if (!r) return false;
    const error = await postJson({
      url: r.webhook,
      // At-least-once on a crash mid-attempt: the receiver can drop a request id it already started.
      headers: { 'idempotency-key': `mlwatch-retrain-${c.id}`, ...r.headers },
      body: {
        id: c.id,
        model: c.model,
        reason: c.reason,
        requested_at: c.requestedAt,
        detail: c.detail,
      },
      timeoutMs: timeoutOf(r),
    });
    const at = this.now();
    if (error === undefined) {
      const kept = await this.log.finish(c, { ok: true, at });
      this.o.log.info(
        { model: c.model, request: c.id, attempt: c.attempt, kept },
        'retrain request dispatched',
      );
      return true;
    }
    this.failures?.inc({ model: c.model });
    const delay = this.retryDelayMs(c.failures + 1);
    await this.log.finish(c, { ok: false, error, retryAt: new Date(at.getTime() + delay) });
    this.o.log.warn(
      { model: c.model, request: c.id, attempt: c.attempt, err: error, retryInMs: delay },
      'retrain dispatch failed; will retry',
    );
    return false;
  }

  /** Re-reads the counts behind the gauges, without failing the caller. */
  refresh(): Promise<void> {
    return this.counts.refresh();
  }

  protected async round(): Promise<void> {
    for (const [model, at] of this.unrecordedTicks) await this.cadenceTick(model, at);
    await this.dispatchDue();
    await this.counts.refreshIfDue();
  }

  /** The gauges come from the cached counts: /metrics never waits on the store. */
  register(registry: Registry): void {
    const self = this;
    new Gauge({
      name: actionFamilies.modelLastRetrainRequest.name,
      help: actionFamilies.modelLastRetrainRequest.help,
      labelNames: [...actionFamilies.modelLastRetrainRequest.labels],
      registers: [registry],
      collect() {
        this.reset();
        for (const l of self.counts.value.last) this.set({ model: l.model, reason: l.reason }, l.at);
      },
    });
    new Gauge({
      name: actionFamilies.retrainRequestsPending.name,
      help: actionFamilies.retrainRequestsPending.help,
      labelNames: [...actionFamilies.retrainRequestsPending.labels],
      registers: [registry],
      collect() {
        this.reset();
        // Every model with a retrain config has a series (0 when nothing waits), so `> 0` can be alerted on.
        for (const model of self.models.keys()) this.set({ model }, 0);
        for (const p of self.counts.value.pending) this.set({ model: p.model }, p.count);
      },
    });
    this.failures = new Counter({
      name: actionFamilies.retrainDispatchFailures.name,
      help: actionFamilies.retrainDispatchFailures.help,
      labelNames: [...actionFamilies.retrainDispatchFailures.labels] as ['model'],
      registers: [registry],
    });
    for (const model of this.models.keys()) this.failures.inc({ model }, 0);
  }
}

const timeoutOf = (r: RetrainConfig) => r.timeout ?? DEFAULT_RETRAIN_TIMEOUT_MS;
