import type { Logger } from 'pino';
import type { LoadedConfig } from '../config/load.js';
import { Redactor } from '../redact.js';
import { describeError } from '../warehouse/errors.js';
import { openWarehouse } from '../warehouse/open.js';
import { inspectWarehouseRole } from '../warehouse/privileges.js';

/**
 * `mlwatch doctor` at serve start: what the warehouse role may do beyond reading is logged as warnings, one per
 * finding, with `mlwatch doctor` named for the fixes. In the background, on a connection of its own: a
 * warehouse that is down at start must not delay /metrics, and the checks report it anyway.
 */
export function warnAboutWarehouseRole(config: LoadedConfig, log: Logger): void {
  // PGlite has one role, a superuser, and is for the demo and tests: a second in-process engine just to say so
  // would cost seconds of start-up. `mlwatch doctor` still reports it on request.
  if (config.warehouse.url.startsWith('pglite:')) return;
  void (async () => {
    const warehouse = openWarehouse({ ...config.warehouse, pool: 1 });
    try {
      const report = await inspectWarehouseRole(warehouse, config);
      for (const f of report.findings) {
        log.warn(
          { role: report.role, finding: f.kind, what: f.what },
          'the warehouse role may do more than read; `mlwatch doctor --config ...` says how to fix it',
        );
      }
      if (report.findings.length === 0)
        log.info({ role: report.role }, 'warehouse role: read-only as checked');
    } catch (err) {
      const reason = new Redactor()
        .add(config.warehouse.password)
        .addUrl(config.warehouse.url)
        .redact(describeError(err, config.warehouse.statementTimeoutMs));
      log.info({ reason }, 'warehouse role not inspected at start (run mlwatch doctor later)');
    } finally {
      await warehouse.close().catch(() => {});
    }
  })();
}
