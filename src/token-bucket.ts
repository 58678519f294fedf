import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A token bucket: `perSecond` tokens a second, at most `capacity` saved up while idle. Ticket forwarding waits
 * for tokens (with the default capacity of 1 its sends are spaced evenly: 10/s is one every 100 ms, so no second
 * holds more than the rate, not even right after an idle spell); the web config's `rate_limit` takes one per
 * request or refuses it (429).
 */
export class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(
    private readonly perSecond: number,
    private readonly capacity = 1,
    // Monotonic: a wall clock stepped back would stall the bucket, one stepped forward would burst it.
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = capacity;
    this.at = now();
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((t - this.at) / 1000) * this.perSecond);
    this.at = t;
  }

  /** Milliseconds until a token is there (0: now). */
  waitMs(): number {
    this.refill();
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) * 1000) / this.perSecond);
  }

  /** Takes a token when there is one: 0, else the milliseconds until there is (nothing taken). */
  take(): number {
    const ms = this.waitMs();
    if (ms === 0) this.tokens -= 1;
    return ms;
  }

  sameAs(perSecond: number, capacity: number): boolean {
    return perSecond === this.perSecond && capacity === this.capacity;
  }

  /** Waits for a token and takes it: true, or false when `signal` aborts first (nothing taken). */
  async acquire(signal?: AbortSignal): Promise<boolean> {
    for (;;) {
      if (signal?.aborted) return false;
      const ms = this.waitMs();
      if (ms === 0) {
        this.tokens -= 1;
        return true;
      }
      try {
        await sleep(ms, undefined, signal ? { signal } : {});
      } catch {
        return false;
      }
    }
  }

  /**
   * Gives back a token that paid for nothing (there was nothing to send). Taken first and refunded, rather than
   * taken once the send is certain: the time spent finding out still counts towards the next token.
   */
  refund(): void {
    this.refill();
    this.tokens = Math.min(this.capacity, this.tokens + 1);
  }
}
