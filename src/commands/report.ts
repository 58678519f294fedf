import { buildReport, periodEnding } from '../actions/report/build.js';
import { DEFAULT_REPORT_TIMEOUT_MS } from '../actions/report/config.js';
import { prometheusClient } from '../actions/report/prometheus.js';
import { openStateDb } from '../actions/store/db.js';
import { parseDuration } from '../config/duration.js';
import type { LoadedConfig } from '../config/load.js';
import { redactUrl } from '../redact.js';
import { quoteIdent } from '../sql/identifiers.js';

export interface ReportFlags {
  since: string;
  prometheus?: string;
  at?: string;
}

/**
 * `mlwatch report`: the weekly review as Markdown on stdout. A source that cannot be read (Prometheus down, no
 * state store tables yet) does not fail the command: its sections say why, a warning goes to stderr, exit 0.
 * Exit 1 only for bad flags.
 */
export async function report(
  config: LoadedConfig,
  f: ReportFlags,
): Promise<{ code: number; out: string; warnings: string[] }> {
  const ms = parseDuration(f.since);
  if (ms === undefined || ms <= 0) {
    return { code: 1, out: `--since: '${f.since}' is not a duration; write it like 7d or 24h`, warnings: [] };
  }
  const end = f.at === undefined ? new Date() : new Date(f.at);
  if (Number.isNaN(end.getTime())) {
    return {
      code: 1,
      out: `--at: '${f.at}' is not a time; write it like 2026-11-23T08:00:00Z`,
      warnings: [],
    };
  }
  const promUrl = f.prometheus ?? config.raw.report?.prometheus_url;
  if (promUrl !== undefined && !/^https?:\/\/[^/]/.test(promUrl)) {
    return {
      code: 1,
      out: `--prometheus: '${redactUrl(promUrl)}' is not an http(s) URL, e.g. http://prometheus:9090`,
      warnings: [],
    };
  }
  const db = openStateDb(config.state);
  try {
    const built = await buildReport({
      // The window label is the text as given: `--since 7d` compares the checks' window="7d" series.
      period: periodEnding(end, ms, f.since),
      prometheus:
        promUrl === undefined
          ? undefined
          : prometheusClient(promUrl, config.raw.report?.timeout ?? DEFAULT_REPORT_TIMEOUT_MS),
      state: { db, schemaSql: quoteIdent(config.state.schema) },
    });
    return { code: 0, out: built.markdown, warnings: built.warnings };
  } finally {
    await db.close();
  }
}
