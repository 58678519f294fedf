import type { Counter, Registry } from 'prom-client';
import { TokenBucket } from '../../token-bucket.js';
import { actionFamilies } from '../families.js';
import { ActionService, LEASE_MARGIN_MS, type ServiceOptions } from '../lifecycle.js';
import { CachedReading } from '../store/cached-reading.js';
import type { StateDb } from '../store/db.js';
import {
  type OutboxClaim,
  OutboxDrain,
  OutboxTable,
  postJson,
  registerOutboxMetrics,
} from '../store/outbox.js';
import type { TicketForwardConfig } from './ticket-forward-config.js';

/** Each round sends the due events. */
export interface TicketForwarderOptions extends ServiceOptions {
  db: StateDb;
  /** The state schema, already quoted. */
  schemaSql: string;
  config: TicketForwardConfig;
  /** How long a claim outlives the attempt's timeout (default 60 s): after it, another replica retakes it. */
  leaseMarginMs?: number;
}

/**
 * Sends the ticket log's queued events (table ticket_outbox, written with the ticket change) to the external
 * tracker: once accepted (2xx), an event is never sent again; until then it is retried with backoff, also after
 * a restart and by whichever replica claims it first.
 *
 * At most `rate` attempts a second (state.ticket_forward.rate), critical events first: a flood of thousands of
 * warning tickets neither hammers the tracker nor holds back the one critical ticket queued behind it. The
 * claim comes after the wait for a token, so whatever is most urgent at that moment is what goes next.
 */
export class TicketForwarder extends ActionService<TicketForwarderOptions> {
  private readonly outbox: OutboxTable;
  private readonly drain: OutboxDrain;
  private readonly bucket: TokenBucket;
  private readonly pending: CachedReading<number>;
  private failures?: Counter;
  /** Aborts the attempt in flight on stop. */
  private readonly abort = new AbortController();

  constructor(o: TicketForwarderOptions) {
    super(o);
    // The order of ticket_outbox_priority_idx (migration 7): severity, then the longest due.
    this.outbox = new OutboxTable(
      o.db,
      `${o.schemaSql}.ticket_outbox`,
      ['ticket_id', 'event', 'payload'],
      ['priority', 'next_attempt_at', 'id'],
    );
    this.bucket = new TokenBucket(o.config.rate);
    this.pending = new CachedReading({
      initial: 0,
      read: () => this.outbox.pendingCount(),
      isReady: o.isReady,
      log: o.log,
      what: 'the ticket outbox',
    });
    this.drain = new OutboxDrain({
      log: o.log,
      what: 'ticket forwarding',
      canRun: () => !this.stopped && o.isReady(),
      next: () => this.next(),
      afterDelivery: () => this.refresh(),
    });
  }

  protected round(): Promise<number> {
    return this.drain.drain();
  }

  /** Sends what is due now (after a webhook queued events); resolves with how many were accepted. */
  forwardDue(): Promise<number> {
    return this.drain.drain();
  }

  /**
   * Stops without waiting for a slow tracker: an attempt in flight is aborted and put back as due at once, so
   * the next exporter (or another replica) sends it without waiting for the claim to run out.
   */
  protected async onStop(): Promise<void> {
    this.abort.abort();
    await this.drain.inFlight();
  }

  private async next(): Promise<boolean | undefined> {
    // Stopping ends the wait: undefined ends the round like "nothing due".
    if (!(await this.bucket.acquire(this.abort.signal))) return undefined;
    const timeoutMs = this.o.config.timeout;
    const claim = await this.outbox
      .claimDue(this.now(), timeoutMs + (this.o.leaseMarginMs ?? LEASE_MARGIN_MS))
      .catch((err: unknown) => {
        this.bucket.refund();
        throw err;
      });
    if (!claim) {
      // Only a send pays: a round that finds nothing due leaves the token for the next event.
      this.bucket.refund();
      return undefined;
    }
    return this.attempt(claim);
  }

  private async attempt(c: OutboxClaim): Promise<boolean> {
    const event = String(c.row.event);
    const ticketId = Number(c.row.ticket_id);
    const payload = typeof c.row.payload === 'string' ? JSON.parse(c.row.payload) : c.row.payload;
    const error = await postJson({
      url: this.o.config.url,
      // The tracker can drop a key it has already seen: the one case of a second send is a replica that died
      // after the tracker accepted but before the acceptance was recorded.
      headers: { 'idempotency-key': idempotencyKey(ticketId, event), ...this.o.config.headers },
      body: payload,
      timeoutMs: this.o.config.timeout,
      signal: this.abort.signal,
    });
    const where = { ticket: ticketId, event, attempt: c.attempt };
    if (error === undefined) {
      const kept = await this.outbox.finish(c, { ok: true, at: this.now() });
      this.o.log.info({ ...where, kept }, 'ticket event forwarded');
      return true;
    }
    if (this.abort.signal.aborted) {
      // Stopping: not the tracker's failure. The tracker may have it already; the resend carries the same key.
      await this.outbox.finish(c, { ok: false, error: 'aborted: exporter stopping', retryAt: this.now() });
      return false;
    }
    this.failures?.inc();
    const delay = this.retryDelayMs(c.failures + 1);
    await this.outbox.finish(c, { ok: false, error, retryAt: new Date(this.now().getTime() + delay) });
    this.o.log.warn({ ...where, err: error, retryInMs: delay }, 'ticket forwarding failed; will retry');
    return false;
  }

  /** Re-reads the pending count behind the gauge, without failing the caller. */
  refresh(): Promise<void> {
    return this.pending.refresh();
  }

  /** The gauge comes from the cached count: /metrics never waits on the store. */
  register(registry: Registry): void {
    this.failures = registerOutboxMetrics(
      registry,
      { pending: actionFamilies.ticketForwardPending, failures: actionFamilies.ticketForwardFailures },
      () => this.pending.value,
    );
  }
}

/** `mlwatch-ticket-7-opened`: the same for every attempt at one event, different for each event. */
export const idempotencyKey = (ticketId: number, event: string) => `mlwatch-ticket-${ticketId}-${event}`;
