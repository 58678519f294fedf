import { isIPv6 } from 'node:net';

/**
 * Slows credential guessing per client address: after `maxFailures` failed authentications within a window, the
 * address is refused (429) until the window ends. An IPv6 client is counted by its /64, the block one host can
 * pick addresses from. The table is bounded: when full, the oldest entry goes.
 */
export class FailureLimiter {
  private readonly entries = new Map<string, { windowStart: number; failures: number }>();

  constructor(
    private readonly maxFailures = 10,
    private readonly windowMs = 60_000,
    private readonly maxEntries = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Milliseconds until the address may try again, or 0 when it may try now. */
  blockedFor(address: string): number {
    const e = this.entries.get(keyOf(address));
    if (!e) return 0;
    const left = e.windowStart + this.windowMs - this.now();
    if (left <= 0) {
      this.entries.delete(keyOf(address));
      return 0;
    }
    return e.failures >= this.maxFailures ? left : 0;
  }

  /** Counts a failure; returns the count in the current window (1 for the first: the one worth logging). */
  fail(address: string): number {
    const key = keyOf(address);
    const t = this.now();
    let e = this.entries.get(key);
    if (!e || t - e.windowStart >= this.windowMs) {
      this.entries.delete(key);
      if (this.entries.size >= this.maxEntries)
        this.entries.delete(this.entries.keys().next().value as string);
      e = { windowStart: t, failures: 0 };
      this.entries.set(key, e);
    }
    e.failures++;
    return e.failures;
  }

  /** The failures allowed per window (the log says when an address reached it). */
  get limit(): number {
    return this.maxFailures;
  }
}

function keyOf(address: string): string {
  const plain = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (!isIPv6(plain)) return plain;
  return `${expand(plain).slice(0, 4).join(':')}::/64`;
}

/** The eight 16-bit groups of an IPv6 address ("::" filled in). */
function expand(a: string): string[] {
  const [head = '', tail] = a.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const zeros = Array(Math.max(0, 8 - h.length - t.length)).fill('0');
  return (tail === undefined ? h : [...h, ...zeros, ...t]).map((g) =>
    g.toLowerCase().replace(/^0+(?=.)/, ''),
  );
}
