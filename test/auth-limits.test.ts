import bcrypt from 'bcryptjs';
import { describe, expect, it } from 'vitest';
import { BcryptBusy, BcryptCache } from '../src/http/auth/bcrypt-cache.js';
import { FailureLimiter } from '../src/http/auth/failure-limiter.js';
import { TokenBucket } from '../src/token-bucket.js';

// The bounds behind the security guard, on a clock the tests move: per-address failure windows (IPv6 by /64),
// the web config's token bucket, and bcrypt's cache and concurrency cap.

describe('FailureLimiter', () => {
  it('blocks an address for the rest of its window after the limit, then forgets it', () => {
    let now = 0;
    const l = new FailureLimiter(3, 60_000, 100, () => now);
    expect([l.fail('10.0.0.1'), l.fail('10.0.0.1')]).toEqual([1, 2]);
    expect(l.blockedFor('10.0.0.1')).toBe(0);
    l.fail('10.0.0.1');
    now = 20_000;
    expect(l.blockedFor('10.0.0.1')).toBe(40_000);
    expect(l.blockedFor('10.0.0.2')).toBe(0);
    now = 60_000;
    expect(l.blockedFor('10.0.0.1')).toBe(0);
    expect(l.fail('10.0.0.1')).toBe(1);
  });

  it('counts IPv6 clients by their /64 and IPv4-mapped addresses as IPv4', () => {
    const l = new FailureLimiter(2, 60_000, 100, () => 0);
    l.fail('2001:db8:1:2::1');
    l.fail('2001:db8:1:2:ffff::9');
    expect(l.blockedFor('2001:db8:1:2:aaaa:bbbb:cccc:dddd')).toBeGreaterThan(0);
    expect(l.blockedFor('2001:db8:1:3::1')).toBe(0);
    l.fail('::ffff:192.0.2.7');
    expect(l.fail('192.0.2.7')).toBe(2);
  });

  it('keeps at most maxEntries addresses: a spray of addresses cannot grow memory', () => {
    const l = new FailureLimiter(1, 60_000, 100, () => 0);
    for (let i = 0; i < 10_000; i++) l.fail(`10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`);
    // The newest are remembered, the oldest went.
    expect(l.blockedFor('10.0.39.15')).toBeGreaterThan(0);
    expect(l.blockedFor('10.0.0.0')).toBe(0);
  });
});

describe('TokenBucket', () => {
  it('allows a burst, then one request per interval', () => {
    let now = 0;
    const b = new TokenBucket(1, 3, () => now);
    expect([b.take(), b.take(), b.take()]).toEqual([0, 0, 0]);
    expect(b.take()).toBe(1000);
    now = 500;
    expect(b.take()).toBe(500);
    now = 1000;
    expect(b.take()).toBe(0);
    now = 10_000;
    // Refilled to the burst, never beyond.
    expect([b.take(), b.take(), b.take(), b.take() > 0]).toEqual([0, 0, 0, true]);
  });
});

describe('BcryptCache', () => {
  const hash = bcrypt.hashSync('pw', 4);

  it('verifies once and then answers from memory; a wrong password is never remembered', async () => {
    const c = new BcryptCache();
    expect(c.known('u', 'pw', hash)).toBe(false);
    expect(await c.verify('u', 'pw', hash)).toBe(true);
    expect(c.known('u', 'pw', hash)).toBe(true);
    expect(await c.verify('u', 'nope', hash)).toBe(false);
    expect(c.known('u', 'nope', hash)).toBe(false);
    // A changed hash (a new password in the web config) is a new pair.
    expect(c.known('u', 'pw', bcrypt.hashSync('pw', 4))).toBe(false);
  });

  it('caps comparisons in flight and refuses more than it will queue', async () => {
    const c = new BcryptCache(10, 1, 2);
    const slow = bcrypt.hashSync('x', 10);
    const attempts = Array.from({ length: 5 }, (_, i) => c.verify('u', `guess-${i}`, slow));
    const settled = await Promise.allSettled(attempts);
    expect(settled.filter((s) => s.status === 'fulfilled').length).toBe(3);
    const refused = settled.filter((s) => s.status === 'rejected') as PromiseRejectedResult[];
    expect(refused.map((r) => r.reason instanceof BcryptBusy)).toEqual([true, true]);
  });
});
