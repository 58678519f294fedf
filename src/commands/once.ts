import type { Logger } from 'pino';
import type { LoadedConfig } from '../config/load.js';
import { Exporter } from '../runtime/exporter.js';

/** Runs every check once and prints the exposition; exit code 1 when any check failed. */
export async function once(config: LoadedConfig, log: Logger): Promise<number> {
  const exporter = Exporter.start(config, { log, withProcessMetrics: false, pingIntervalMs: 3_600_000 });
  await exporter.firstRound();
  process.stdout.write(await exporter.metricsText());
  const failed = exporter.cachedChecks().filter((s) => s.status === 'failing');
  for (const s of failed) process.stderr.write(`check ${s.check.id} failed: ${s.lastError}\n`);
  await exporter.stop(0);
  return failed.length > 0 ? 1 : 0;
}
