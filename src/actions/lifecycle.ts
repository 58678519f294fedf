import type { Logger } from 'pino';
import { backoffDelay } from './store/outbox.js';

/**
 * The lifecycle every action service shares (retraining, rollbacks, the weekly report, ticket forwarding):
 * built with its options, started (a poll every pollMs), stopped (no new round, the one in flight awaited).
 * Each service's round is its own; how often, how long to back off and which clock are the same options for all.
 */

/** How a service paces itself; tests shorten all of them. */
export interface ServiceTiming {
  /** The clock for request times, expiry and due attempts (tests move it). */
  now?: () => Date;
  /** How often the service's round runs (default 5 s). */
  pollMs?: number;
  /** The first retry's delay (default 10 s); each further failure doubles it, up to backoffCapMs (default 10 min). */
  backoffMs?: number;
  backoffCapMs?: number;
  /** How often the counts behind the service's gauges are re-read (other replicas write too; default 15 s). */
  refreshMs?: number;
}

export interface ServiceOptions extends ServiceTiming {
  log: Logger;
  /** Whether the state store is migrated (StoreService): no round runs before. */
  isReady: () => boolean;
}

// A claim outlives the webhook's timeout by this much, so another replica never takes an attempt in flight.
export const LEASE_MARGIN_MS = 60_000;

export abstract class ActionService<O extends ServiceOptions> {
  protected stopped = false;
  private timer?: NodeJS.Timeout;

  constructor(protected readonly o: O) {}

  /** The service's clock: the wall clock, or the test's. */
  now(): Date {
    return this.o.now ? this.o.now() : new Date();
  }

  /** When an attempt that has failed `failures` times is due again, from now. */
  protected retryDelayMs(failures: number): number {
    return backoffDelay(failures, this.o.backoffMs ?? 10_000, this.o.backoffCapMs ?? 600_000);
  }

  start(): void {
    this.timer = setInterval(() => {
      if (!this.stopped && this.o.isReady()) void this.round();
    }, this.o.pollMs ?? 5000);
    this.timer.unref();
  }

  /** No round starts after this; resolves once the service's work in flight has ended (onStop). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.onStop();
  }

  /** One poll's work: due attempts, retried ticks, refreshed counts. Never throws (a failure is logged). */
  protected abstract round(): Promise<unknown>;

  /** Ends what stop() must wait for: cadences destroyed, the attempt in flight awaited or aborted. */
  protected abstract onStop(): Promise<void>;
}
