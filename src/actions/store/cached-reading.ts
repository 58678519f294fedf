import type { Logger } from 'pino';

export interface CachedReadingOptions<T> {
  /** What the gauge shows before the first successful read. */
  initial: T;
  read: () => Promise<T>;
  /** The state store is migrated and reachable; before that nothing is read. */
  isReady: () => boolean;
  log: Logger;
  /** For the log line when a read fails: "cannot read <what>". */
  what: string;
  /** How often refreshIfDue() reads again (default 15 s). */
  everyMs?: number | undefined;
}

/**
 * A value read from the state store for a gauge (pending requests, counts by state). /metrics serves the last
 * reading and never waits on the store: `refresh()` reads now (after a write the gauge should follow),
 * `refreshIfDue()` at most every `everyMs` (from a service's poll loop). A failed read keeps the last value and
 * logs; it never fails the caller.
 */
export class CachedReading<T> {
  value: T;
  private readAt = 0;

  constructor(private readonly o: CachedReadingOptions<T>) {
    this.value = o.initial;
  }

  async refresh(): Promise<void> {
    if (!this.o.isReady()) return;
    try {
      this.value = await this.o.read();
      this.readAt = Date.now();
    } catch (err) {
      this.o.log.warn({ err: (err as Error).message }, `cannot read ${this.o.what}`);
    }
  }

  async refreshIfDue(): Promise<void> {
    if (Date.now() - this.readAt >= (this.o.everyMs ?? 15_000)) await this.refresh();
  }
}
