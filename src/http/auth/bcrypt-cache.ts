import { createHash } from 'node:crypto';
import bcrypt from 'bcryptjs';

/**
 * bcrypt verification with its results remembered and its work bounded. A verified (user, password, hash) is
 * kept, keyed by a SHA-256 of the three (the password itself is never kept), so a scrape every 15 s costs one
 * bcrypt comparison per process, not one per request. Comparisons in flight are capped: bcrypt is deliberately
 * slow, and a flood of wrong passwords must queue, not take every core.
 */
export class BcryptCache {
  private readonly verified = new Map<string, true>();
  private inFlight = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly maxEntries = 1024,
    private readonly maxConcurrent = 2,
    private readonly maxWaiting = 256,
  ) {}

  /** Whether this exact pair was verified before: a check that costs no bcrypt work. */
  known(user: string, password: string, hash: string): boolean {
    return this.verified.has(keyOf(user, password, hash));
  }

  /** True when `password` matches `hash`; throws BcryptBusy when too many comparisons are already waiting. */
  async verify(user: string, password: string, hash: string): Promise<boolean> {
    const key = keyOf(user, password, hash);
    if (this.verified.has(key)) return true;
    await this.slot();
    let ok: boolean;
    try {
      ok = await bcrypt.compare(password, hash);
    } finally {
      this.release();
    }
    if (ok) {
      // Oldest first out: a Map iterates in insertion order.
      if (this.verified.size >= this.maxEntries)
        this.verified.delete(this.verified.keys().next().value as string);
      this.verified.set(key, true);
    }
    return ok;
  }

  private slot(): Promise<void> {
    if (this.inFlight < this.maxConcurrent) {
      this.inFlight++;
      return Promise.resolve();
    }
    if (this.waiting.length >= this.maxWaiting) return Promise.reject(new BcryptBusy());
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.inFlight--;
  }
}

function keyOf(user: string, password: string, hash: string): string {
  return createHash('sha256').update(`${user}\u0000${password}\u0000${hash}`).digest('base64');
}

/** Too many password checks queued: the caller answers 429 instead of queueing more. */
export class BcryptBusy extends Error {
  constructor() {
    super('too many password checks in progress');
    this.name = 'BcryptBusy';
  }
}
