import type { CachedCheck } from '../runtime/check-cache.js';
import type { Exporter } from '../runtime/exporter.js';
import { VERSION } from '../version.js';

/** The page at /: every check, its state, its last error and last run, like an exporter's status page. */

const esc = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );

function ago(ms: number | undefined, now: number): string {
  if (ms === undefined) return 'never';
  const s = Math.max(0, Math.round((now - ms) / 1000));
  return s < 120 ? `${s}s ago` : `${Math.round(s / 60)}m ago`;
}

function row(s: CachedCheck, now: number): string {
  const schedule =
    'everyMs' in s.check.schedule
      ? `every ${s.check.schedule.everyMs / 1000}s`
      : `cron ${s.check.schedule.cron}`;
  const skipped = Object.entries(s.skipped)
    .map(([reason, n]) => `${n} skipped: ${reason}`)
    .join(', ');
  const notes = [s.lastError ?? '', skipped].filter(Boolean).join('; ');
  return `<tr class="${s.status}"><td>${esc(s.check.id)}</td><td>${s.status}</td><td>${esc(schedule)}</td><td>${ago(s.lastRunEndedAt, now)}</td><td>${s.lastDurationSeconds?.toFixed(3) ?? '-'}</td><td>${s.seriesCount}</td><td>${esc(notes)}</td></tr>`;
}

export function landingPage(exporter: Exporter): string {
  const now = Date.now();
  const cached = exporter.cachedChecks();
  const up = exporter.warehouseUp();
  const reload = exporter.reloadStatus();
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>mlwatch</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}
tr.failing{background:#fdd}tr.pending{background:#ffd}</style></head>
<body><h1>mlwatch ${esc(VERSION)}</h1>
<p><a href="/metrics">Metrics</a> · <a href="/healthz">Health</a> · <a href="/readyz">Readiness</a></p>
<p>Config: ${esc(exporter.config.file)} · warehouse: ${up === undefined ? 'not contacted yet' : up ? 'up' : 'DOWN'} · last reload: ${reload.successful ? 'ok' : `refused: ${esc(reload.lastError ?? '')}`}</p>
<table><tr><th>Check</th><th>State</th><th>Schedule</th><th>Last run</th><th>Duration (s)</th><th>Series</th><th>Last error / notes</th></tr>
${cached.map((s) => row(s, now)).join('\n')}
</table></body></html>`;
}
