import { hostname } from 'node:os';
import { Gauge, type Registry } from 'prom-client';
import { Redactor } from '../../redact.js';
import { quoteIdent } from '../../sql/identifiers.js';
import { actionFamilies } from '../families.js';
import { ActionService, LEASE_MARGIN_MS, type ServiceOptions } from '../lifecycle.js';
import { CachedReading } from '../store/cached-reading.js';
import type { StateDb } from '../store/db.js';
import type { AuditVerification } from './audit-chain.js';
import {
  DEFAULT_ROLLBACK_EXPIRY_MS,
  DEFAULT_ROLLBACK_TIMEOUT_MS,
  type RollbackConfig,
} from './rollback-config.js';
import { type Actor, type ClaimedRollback, type Outcome, ROLLBACK_STATES, RollbackLog } from './rollbacks.js';

/** Each round sweeps expired requests and executes approved ones; refreshMs also paces the audit chain's check. */
export interface RollbackServiceOptions extends ServiceOptions {
  db: StateDb;
  schema: string;
}

/**
 * Rollbacks as the running exporter does them (callers are authenticated by src/http/auth): opens,
 * approves and rejects requests, expires the ones left pending (on access and every poll), and executes the
 * approved ones through the model's rollback webhook, once, with retries, from whichever replica claims them.
 */
export class RollbackService extends ActionService<RollbackServiceOptions> {
  readonly log: RollbackLog;
  private models = new Map<string, RollbackConfig>();
  private expiryMs = DEFAULT_ROLLBACK_EXPIRY_MS;
  private executing?: Promise<number>;
  private readonly replica = `${hostname()}:${process.pid}`;

  private readonly counts: CachedReading<{ state: string; count: number }[]>;
  /** The audit chain as last verified; undefined until the first verification. */
  private readonly auditChain: CachedReading<AuditVerification | undefined>;
  /** Adds the audit gauges to the registry (register() sets it; the first verification calls it). */
  private showAuditGauges?: () => void;

  constructor(o: RollbackServiceOptions) {
    super(o);
    this.log = new RollbackLog(o.db, quoteIdent(o.schema));
    this.counts = new CachedReading({
      initial: [],
      read: () => this.log.counts(),
      isReady: o.isReady,
      log: o.log,
      what: 'rollback counts',
      everyMs: o.refreshMs,
    });
    // On the poll's cadence only, not after each write: it reads the whole log, and an API call should not
    // wait for that. Every replica verifies, so one whose store was tampered with reports it by itself.
    this.auditChain = new CachedReading<AuditVerification | undefined>({
      initial: undefined,
      read: () => this.log.verify(),
      isReady: o.isReady,
      log: o.log,
      what: 'the rollback audit chain',
      everyMs: o.refreshMs,
    });
  }

  /** Takes the approvers, the expiry and the models' rollback settings (at start and after a reload). */
  configure(c: {
    rollback_expiry: number;
    models: readonly { name: string; rollback?: RollbackConfig | undefined }[];
  }): void {
    this.expiryMs = c.rollback_expiry;
    this.models = new Map(c.models.flatMap((m) => (m.rollback ? [[m.name, m.rollback] as const] : [])));
  }

  hasRollback(model: string): boolean {
    return this.models.has(model);
  }

  async request(by: Actor, model: string, toVersion: string, reason: string): Promise<Outcome> {
    const now = this.now();
    const out = await this.log.create({
      model,
      toVersion,
      reason,
      by,
      now,
      expiresAt: new Date(now.getTime() + this.expiryMs),
    });
    if (out.ok)
      this.o.log.info(
        { request: out.request.id, model, to_version: toVersion, by: by.name },
        'rollback requested',
      );
    await this.refresh();
    return out;
  }

  async decide(id: number, by: Actor, decision: 'approve' | 'reject', comment?: string): Promise<Outcome> {
    const out = await this.log.decide(id, by, decision, comment, this.now());
    this.o.log.info(
      {
        request: id,
        by: by.name,
        role: by.role,
        decision,
        ...(out.ok ? { state: out.request.state } : { refused: out.reason }),
      },
      'rollback decision',
    );
    await this.refresh();
    if (out.ok && out.request.state === 'approved') void this.executeDue();
    return out;
  }

  protected async onStop(): Promise<void> {
    await this.executing;
  }

  /** Executes every due approved request one after the other; resolves with how many succeeded. */
  executeDue(): Promise<number> {
    if (this.executing) return this.executing;
    this.executing = (async () => {
      let done = 0;
      try {
        for (;;) {
          if (this.stopped || !this.o.isReady()) break;
          const lease = Math.max(...[...this.models.values()].map(timeoutOf)) + LEASE_MARGIN_MS;
          const claim = await this.log.claimDue(this.now(), [...this.models.keys()], lease, this.replica);
          if (!claim) break;
          if (await this.attempt(claim)) done++;
        }
      } catch (err) {
        this.o.log.warn({ err: (err as Error).message }, 'rollback execution interrupted');
      } finally {
        this.executing = undefined;
      }
      await this.refresh();
      return done;
    })();
    return this.executing;
  }

  private async attempt(c: ClaimedRollback): Promise<boolean> {
    const r = this.models.get(c.model);
    if (!r) return false;
    let error: string | undefined;
    // The error is logged and kept: no header value of the config (a receiver may echo them) goes with it.
    const hide = new Redactor().addTree({ headers: r.headers }).addUrl(r.webhook);
    try {
      const res = await fetch(r.webhook, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          // At-least-once on a crash mid-attempt: the receiver can drop a request id it already started.
          'idempotency-key': `mlwatch-rollback-${c.id}`,
          ...r.headers,
        },
        body: JSON.stringify({
          id: c.id,
          model: c.model,
          to_version: c.to_version,
          reason: c.reason,
          requested_by: c.requested_by,
          approvals: c.approvals,
        }),
        signal: AbortSignal.timeout(timeoutOf(r)),
      });
      const text = await res.text().catch(() => '');
      if (!res.ok) error = `HTTP ${res.status}${text ? `: ${hide.redact(text.trim()).slice(0, 200)}` : ''}`;
    } catch (err) {
      const e = err as Error & { cause?: { code?: string; message?: string } };
      error =
        e.name === 'TimeoutError'
          ? `no answer within ${timeoutOf(r) / 1000}s`
          : hide.redact(e.cause?.code ?? e.cause?.message ?? e.message);
    }
    const at = this.now();
    if (error === undefined) {
      const kept = await this.log.finish(c, { ok: true, at });
      this.o.log.info({ model: c.model, request: c.id, attempt: c.attempt, kept }, 'rollback executed');
      return true;
    }
    const delay = this.retryDelayMs(c.failures + 1);
    await this.log.finish(c, {
      ok: false,
      at,
      error,
      retryAt: new Date(at.getTime() + delay),
      maxFailures: r.attempts,
    });
    this.o.log.warn(
      {
        model: c.model,
        request: c.id,
        attempt: c.attempt,
        err: error,
        failures: c.failures + 1,
        of: r.attempts,
      },
      'rollback execution failed',
    );
    return false;
  }

  /** Re-reads the counts behind the gauge, without failing the caller. */
  refresh(): Promise<void> {
    return this.counts.refresh();
  }

  protected async round(): Promise<void> {
    try {
      const expired = await this.log.sweep(this.now());
      if (expired.length > 0) this.o.log.info({ requests: expired }, 'rollback requests expired');
    } catch (err) {
      this.o.log.warn({ err: (err as Error).message }, 'cannot sweep expired rollback requests');
    }
    await this.executeDue();
    await this.counts.refreshIfDue();
    await this.verifyAuditIfDue();
  }

  private async verifyAuditIfDue(): Promise<void> {
    const before = this.auditChain.value;
    await this.auditChain.refreshIfDue();
    const after = this.auditChain.value;
    if (after && !before) this.showAuditGauges?.();
    // Once per break, not every 15 s: the gauge and its alert carry it from there.
    if (after && !after.intact && (before?.intact ?? true)) {
      this.o.log.error(
        { entries: after.entries, broken: after.firstBroken },
        'rollback audit chain broken: an entry was changed, deleted or inserted outside mlwatch; run mlwatch rollback verify',
      );
    }
  }

  /** The gauge comes from the cached counts: /metrics never waits on the store. */
  register(registry: Registry): void {
    const self = this;
    new Gauge({
      name: actionFamilies.rollbackRequests.name,
      help: actionFamilies.rollbackRequests.help,
      labelNames: [...actionFamilies.rollbackRequests.labels],
      registers: [registry],
      collect() {
        this.reset();
        // Every state has a series (0 when none), so `state="pending" > 0` can be alerted on and graphed.
        for (const state of ROLLBACK_STATES) this.set({ state }, 0);
        for (const c of self.counts.value) this.set({ state: c.state }, c.count);
      },
    });
    // The audit gauges join the registry with the first verification, not before: an unlabelled gauge
    // always has a sample, and a restarted replica exporting 0 entries (or intact 0) before it has read the
    // log would look to the alert like a log that lost its entries.
    const audit = [
      new Gauge({
        name: actionFamilies.rollbackAuditIntact.name,
        help: actionFamilies.rollbackAuditIntact.help,
        registers: [],
        collect() {
          this.set(self.auditChain.value?.intact ? 1 : 0);
        },
      }),
      new Gauge({
        name: actionFamilies.rollbackAuditEntries.name,
        help: actionFamilies.rollbackAuditEntries.help,
        registers: [],
        collect() {
          this.set(self.auditChain.value?.entries ?? 0);
        },
      }),
    ];
    this.showAuditGauges = () => {
      for (const g of audit) registry.registerMetric(g);
    };
    if (this.auditChain.value) this.showAuditGauges();
  }
}

const timeoutOf = (r: RollbackConfig) => r.timeout ?? DEFAULT_ROLLBACK_TIMEOUT_MS;
