import pino, { type Logger } from 'pino';
import { buildReport, periodEnding } from '../actions/report/build.js';
import { DEFAULT_REPORT_TIMEOUT_MS } from '../actions/report/config.js';
import { exporterNow } from '../actions/report/now/exporter.js';
import { type NowSource, NowUnavailable } from '../actions/report/now/values.js';
import { warehouseNow } from '../actions/report/now/warehouse.js';
import { prometheusClient } from '../actions/report/prometheus.js';
import { openStateDb } from '../actions/store/db.js';
import { parseDuration } from '../config/duration.js';
import type { LoadedConfig } from '../config/load.js';
import { redactUrl } from '../redact.js';
import { quoteIdent } from '../sql/identifiers.js';
import type { Warehouse } from '../warehouse/types.js';

export interface ReportFlags {
  since: string;
  prometheus?: string;
  at?: string;
  /** A running exporter whose /metrics gives the values now instead of running the checks (the demo). */
  exporter?: string;
}

export interface ReportDeps {
  /** The checks' log when they run once; silent by default, their failures are in the review. */
  log?: Logger;
  /** Tests: the warehouse the checks read (their in-process PGlite). */
  openWarehouse?: (config: LoadedConfig) => Warehouse;
}

type Result = { code: number; out: string; warnings: string[] };
const refused = (out: string): Result => ({ code: 1, out, warnings: [] });
const isHttp = (url: string) => /^https?:\/\/[^/]/.test(url);

export const NEEDS_SOURCE =
  'give --config FILE (the warehouse and state store to read) or --exporter URL (a running exporter, e.g. the demo at http://localhost:10027)';

// Without --config there is no state store to count activity in; the demo keeps its store inside its process.
const NO_STATE =
  'no --config given, so no state store to read (the demo keeps its own inside its process; a config names it in `state`)';

/**
 * Where the values now come from when Prometheus cannot give the sections: the running exporter given, else
 * the config's checks run once on the warehouse. Both know only the present, so a review ending at --at has
 * none.
 */
function nowSource(config: LoadedConfig | undefined, f: ReportFlags, timeoutMs: number, d: ReportDeps) {
  if (f.at !== undefined) {
    return {
      read: () =>
        Promise.reject(
          new NowUnavailable(
            `the checks give the values now, not at ${f.at}: leave out --at, or give --prometheus for a past period`,
          ),
        ),
    } satisfies NowSource;
  }
  if (f.exporter !== undefined) return exporterNow(f.exporter, timeoutMs);
  if (!config) return undefined;
  return warehouseNow(config, {
    log: d.log ?? pino({ level: 'silent' }),
    openWarehouse: d.openWarehouse,
  });
}

/**
 * `mlwatch report`: the weekly review as Markdown on stdout. Without Prometheus (none configured, or it cannot
 * be reached) the model and data sections show the values now, from the warehouse or a running exporter, and
 * say what needs Prometheus. A source that cannot be read does not fail the command: its sections say why, a
 * warning goes to stderr, exit 0. Exit 1 only for bad flags.
 */
export async function report(
  config: LoadedConfig | undefined,
  f: ReportFlags,
  d: ReportDeps = {},
): Promise<Result> {
  if (!config && f.exporter === undefined) return refused(`mlwatch report: ${NEEDS_SOURCE}`);
  const ms = parseDuration(f.since);
  if (ms === undefined || ms <= 0) {
    return refused(`--since: '${f.since}' is not a duration; write it like 7d or 24h`);
  }
  const end = f.at === undefined ? new Date() : new Date(f.at);
  if (Number.isNaN(end.getTime())) {
    return refused(`--at: '${f.at}' is not a time; write it like 2026-11-23T08:00:00Z`);
  }
  const promUrl = f.prometheus ?? config?.raw.report?.prometheus_url;
  if (promUrl !== undefined && !isHttp(promUrl)) {
    return refused(
      `--prometheus: '${redactUrl(promUrl)}' is not an http(s) URL, e.g. http://prometheus:9090`,
    );
  }
  if (f.exporter !== undefined && !isHttp(f.exporter)) {
    return refused(
      `--exporter: '${redactUrl(f.exporter)}' is not an http(s) URL, e.g. http://localhost:10027`,
    );
  }
  const timeoutMs = config?.raw.report?.timeout ?? DEFAULT_REPORT_TIMEOUT_MS;
  const db = config ? openStateDb(config.state) : undefined;
  try {
    const built = await buildReport({
      // The window label is the text as given: `--since 7d` compares the checks' window="7d" series.
      period: periodEnding(end, ms, f.since),
      prometheus: promUrl === undefined ? undefined : prometheusClient(promUrl, timeoutMs),
      state: db && config ? { db, schemaSql: quoteIdent(config.state.schema) } : undefined,
      stateUnavailable: NO_STATE,
      now: nowSource(config, f, timeoutMs, d),
    });
    return { code: 0, out: built.markdown, warnings: built.warnings };
  } finally {
    await db?.close();
  }
}
