import type { CachedCheck } from '../../../runtime/check-cache.js';
import { type NowSource, NowUnavailable, readAt } from './values.js';

/**
 * The values now for the review the running exporter builds on its schedule: its own checks' last successful
 * runs (or, with replicas sharing checks, the runner's, which the follower serves too). Nothing is run or
 * fetched for it: the exporter has them in memory, as /metrics serves them.
 */
export function runningNow(
  checks: () => readonly CachedCheck[],
  now: () => Date = () => new Date(),
): NowSource {
  return {
    async read() {
      const at = now();
      const all = checks();
      const ran = all.filter((c) => c.status !== 'pending');
      if (ran.length === 0) throw new NowUnavailable('no check of this exporter has run yet');
      return {
        from: 'this exporter',
        detail: `the last runs of its ${all.length} checks, read at ${readAt(at)}`,
        samples: ran.flatMap((c) => c.samples),
        failed: ran
          .filter((c) => c.status === 'failing')
          .map((c) => ({ check: c.check.id, error: c.lastError })),
      };
    },
  };
}
