import type { Logger } from 'pino';
import type { LoadedConfig } from '../../../config/load.js';
import { Exporter } from '../../../runtime/exporter.js';
import type { Warehouse } from '../../../warehouse/types.js';
import { type NowSource, NowUnavailable, readAt } from './values.js';

export interface WarehouseNowOptions {
  log: Logger;
  /** Tests pass their in-process PGlite; otherwise the config's warehouse is opened. */
  openWarehouse?: ((config: LoadedConfig) => Warehouse) | undefined;
  now?: () => Date;
}

/**
 * The values now, from the warehouse: every check of the config run once, as `mlwatch once` runs them (each in
 * its read-only transaction, with its timeout, as many at once as the pool allows). The checks only read, so
 * this is safe against production; it costs one round of every check.
 */
export function warehouseNow(config: LoadedConfig, o: WarehouseNowOptions): NowSource {
  return {
    async read() {
      const at = (o.now ?? (() => new Date()))();
      // Nothing to run: no need to open the warehouse (an embedded one takes seconds to start).
      if (config.checks.length === 0) {
        return { from: 'the warehouse', detail: 'the config has no checks', samples: [], failed: [] };
      }
      const exporter = Exporter.start(config, {
        log: o.log,
        withProcessMetrics: false,
        pingIntervalMs: 3_600_000,
        openWarehouse: o.openWarehouse,
      });
      try {
        await exporter.firstRound();
        const checks = exporter.cachedChecks();
        const failed = checks
          .filter((c) => c.status === 'failing')
          .map((c) => ({ check: c.check.id, error: c.lastError }));
        // Nothing read at all (a warehouse down, a wrong URL): one reason instead of a value-less review.
        const first = failed[0];
        if (first && failed.length === checks.length) {
          throw new NowUnavailable(`every check failed on the warehouse (${first.check}: ${first.error})`);
        }
        return {
          from: 'the warehouse',
          detail: `the config's ${checks.length} checks, run once at ${readAt(at)}`,
          samples: checks.flatMap((c) => c.samples),
          failed,
        };
      } finally {
        // Give a second turn of a short-interval check the time to finish, so the warehouse closes cleanly.
        await exporter.stop(5000);
      }
    },
  };
}
