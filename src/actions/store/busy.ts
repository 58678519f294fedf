/**
 * A state store that is there but cannot serve this request now: every connection stays busy past the wait,
 * or a statement ran into lock_timeout or statement_timeout. The request changed nothing (its transaction
 * rolled back, or never began) and is safe to retry: the HTTP layer answers 503 with Retry-After
 * (src/http/state-errors.ts).
 */
export class StateBusyError extends Error {
  override readonly name = 'StateBusyError';
}

/**
 * At most `size` holders at once; a caller waits for a free slot at most `waitMs`, then gets a StateBusyError.
 * In front of the pg pool, whose own timeout would cover the wait and the TCP connect together: this one bounds
 * only the wait, so a slow network still gets the whole connect timeout.
 */
export class Slots {
  private free: number;
  private readonly waiting: (() => void)[] = [];

  constructor(
    size: number,
    private readonly waitMs: number,
  ) {
    this.free = size;
  }

  async acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const granted = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiting.splice(this.waiting.indexOf(granted), 1);
        reject(new StateBusyError(`no state store connection free within ${this.waitMs / 1000}s (all busy)`));
      }, this.waitMs);
      this.waiting.push(granted);
    });
  }

  /** Hands the slot to the longest waiter, or frees it. */
  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free++;
  }
}
