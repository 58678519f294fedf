import type { Logger } from 'pino';
import { Gauge, type Registry } from 'prom-client';
import { quoteIdent } from '../../sql/identifiers.js';
import { actionFamilies } from '../families.js';
import { HANDOFF_TEAMS, type HandoffConfig, handoffPollMs } from '../tickets/handoff-config.js';
import { TicketForwarder, type TicketForwarderOptions } from '../tickets/ticket-forward.js';
import type { TicketForwardConfig } from '../tickets/ticket-forward-config.js';
import {
  HANDOFF_LABELS,
  type HandedOffTicket,
  MAX_HANDED_OFF_EXPORTED,
  TicketHandoffs,
} from '../tickets/ticket-handoff.js';
import { knownTicketLabels, type TicketLabelsConfig } from '../tickets/ticket-labels.js';
import { type TicketCount, TicketLog } from '../tickets/tickets.js';
import type { StateDb } from './db.js';
import { migrate } from './migrations.js';
import { isWriteRefused, writeRefusedHint } from './write-refused.js';

export interface StoreServiceOptions {
  db: StateDb;
  schema: string;
  log: Logger;
  /** How long to wait between attempts while the store cannot be reached or migrated. */
  retryMs?: number;
  /** How often the ticket counts behind mlwatch_tickets are re-read (other replicas write too). */
  refreshMs?: number;
  /** state.ticket_labels: team and layer values of the operator's rules that mlwatch_tickets shows by name. */
  ticketLabels?: TicketLabelsConfig | undefined;
  /** state.ticket_forward: forward ticket events to an external tracker (off when absent). */
  forward?: TicketForwardConfig | undefined;
  /** The forwarding's poll, backoff and lease (tests shorten them). */
  forwardTiming?: Pick<TicketForwarderOptions, 'pollMs' | 'backoffMs' | 'backoffCapMs' | 'leaseMarginMs'>;
  /** state.handoff: when unacknowledged pages go to data science by themselves (off without layers). */
  handoff?: HandoffConfig | undefined;
  /** No state.url of its own: the store is the warehouse's database and role (said when writing is refused). */
  sharesWarehouse?: boolean;
}

/**
 * The state store as the running exporter sees it: migrated at start (retried until it works, so an exporter
 * started before its database still serves /metrics), the ticket log once it is ready, and the ticket counts
 * cached for /metrics, which never waits on a database.
 */
export class StoreService {
  readonly tickets: TicketLog;
  /** Acknowledgements and hand-offs (src/actions/tickets/ticket-handoff.ts). */
  readonly handoffs: TicketHandoffs;
  /** Present when state.ticket_forward is configured. */
  readonly forwarder?: TicketForwarder;
  private ready = false;
  private lastError = 'not migrated yet';
  private counts: TicketCount[] = [];
  private handedOff: HandedOffTicket[] = [];
  private handedOffTruncated = false;
  private timer?: NodeJS.Timeout;
  private handoffTimer?: NodeJS.Timeout;
  private handingOff = false;
  private stopped = false;

  constructor(private readonly o: StoreServiceOptions) {
    const schemaSql = quoteIdent(o.schema);
    this.tickets = new TicketLog(
      o.db,
      schemaSql,
      new Set(o.forward?.on ?? []),
      knownTicketLabels(o.ticketLabels),
    );
    this.handoffs = new TicketHandoffs(o.db, schemaSql);
    if (o.forward) {
      this.forwarder = new TicketForwarder({
        ...o.forwardTiming,
        db: o.db,
        schemaSql,
        config: o.forward,
        log: o.log,
        isReady: () => this.ready,
      });
    }
  }

  /** Starts migrating in the background; resolves when the first attempt is over, ready or not. */
  async start(): Promise<void> {
    await this.attempt();
    this.timer = setInterval(() => void this.tick(), this.ready ? this.refreshMs() : this.retryMs());
    this.timer.unref();
    this.forwarder?.start();
    const h = this.o.handoff;
    if (h && h.layers.length > 0) {
      this.handoffTimer = setInterval(() => void this.handOffUnacknowledged(h), handoffPollMs(h.after));
      this.handoffTimer.unref();
    }
  }

  isReady(): boolean {
    return this.ready;
  }

  /** Why the store is not ready, for a 503 body. */
  unavailableReason(): string {
    return this.lastError;
  }

  /** Re-reads the counts now (after a webhook wrote), without failing the caller. */
  async refresh(): Promise<void> {
    try {
      this.counts = await this.tickets.counts();
      const { tickets, total } = await this.handoffs.handedOff();
      this.handedOff = tickets;
      if (total > tickets.length !== this.handedOffTruncated) {
        this.handedOffTruncated = total > tickets.length;
        if (this.handedOffTruncated)
          this.o.log.warn(
            { open: total, exported: tickets.length },
            `more than ${MAX_HANDED_OFF_EXPORTED} open tickets are handed off; only the latest are exported (the ticket log has all)`,
          );
      }
    } catch (err) {
      this.o.log.warn({ err: (err as Error).message }, 'cannot read ticket counts and hand-offs');
    }
    await this.forwarder?.refresh();
  }

  /**
   * The automatic hand-off (state.handoff): pages of its layers nobody acknowledged in time go to data science.
   * Every replica runs it; the conditional UPDATE hands each ticket off once. Skipped while the store is not
   * ready, and never two at once in one replica (a slow store must not pile them up).
   */
  private async handOffUnacknowledged(h: HandoffConfig): Promise<void> {
    if (!this.ready || this.stopped || this.handingOff) return;
    this.handingOff = true;
    try {
      const ids = await this.handoffs.handOffUnacknowledged(h.after, h.layers, HANDOFF_TEAMS[0]);
      if (ids.length > 0) {
        this.o.log.info(
          { tickets: ids, to: HANDOFF_TEAMS[0], after: h.after },
          'pages not acknowledged in time were handed off',
        );
        await this.refresh();
      }
    } catch (err) {
      this.o.log.warn(
        { err: (err as Error).message },
        'automatic hand-off failed; retrying at the next poll',
      );
    } finally {
      this.handingOff = false;
    }
  }

  /** After a webhook changed tickets: sends their queued events now rather than at the next poll. */
  forwardSoon(): void {
    void this.forwarder?.forwardDue().catch(() => {});
  }

  register(registry: Registry): void {
    const self = this;
    new Gauge({
      name: actionFamilies.tickets.name,
      help: actionFamilies.tickets.help,
      labelNames: [...actionFamilies.tickets.labels],
      registers: [registry],
      collect() {
        this.reset();
        for (const c of self.counts) this.set({ state: c.state, team: c.team, layer: c.layer }, c.count);
      },
    });
    new Gauge({
      name: actionFamilies.ticketHandedOff.name,
      help: actionFamilies.ticketHandedOff.help,
      labelNames: [...HANDOFF_LABELS],
      registers: [registry],
      collect() {
        this.reset();
        for (const t of self.handedOff) this.set(t.labels, t.at);
      },
    });
    new Gauge({
      name: actionFamilies.stateStoreUp.name,
      help: actionFamilies.stateStoreUp.help,
      registers: [registry],
      collect() {
        this.set(self.ready ? 1 : 0);
      },
    });
    this.forwarder?.register(registry);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearInterval(this.handoffTimer);
    await this.forwarder?.stop();
    await this.o.db.close().catch(() => {});
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    if (!this.ready) {
      await this.attempt();
      if (this.ready) {
        clearInterval(this.timer);
        this.timer = setInterval(() => void this.tick(), this.refreshMs());
        this.timer.unref();
      }
      return;
    }
    await this.refresh();
  }

  private async attempt(): Promise<void> {
    try {
      const applied = await migrate(this.o.db, quoteIdent(this.o.schema));
      this.ready = true;
      this.o.log.info({ schema: this.o.schema, applied }, 'state store ready');
      await this.refresh();
    } catch (err) {
      const message = (err as Error).message.split('\n')[0] ?? String(err);
      const reason = isWriteRefused(err)
        ? `${message}: ${writeRefusedHint(this.o.schema, this.o.sharesWarehouse ?? false)}`
        : message;
      // Logged once per reason: a store down for an hour is one line, not one every retry.
      if (`state store unavailable: ${reason}` !== this.lastError) {
        this.o.log.error({ err: reason }, 'state store unavailable; webhooks answer 503 until it is back');
      }
      this.lastError = `state store unavailable: ${reason}`;
    }
  }

  private retryMs(): number {
    return this.o.retryMs ?? 10_000;
  }

  private refreshMs(): number {
    return this.o.refreshMs ?? 15_000;
  }
}
