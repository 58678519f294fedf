import { ago } from '../format.js';
import { esc, link } from '../html.js';
import type { AlertsView, FiringAlert } from '../prometheus-alerts.js';

/** The firing alerts Prometheus has for mlwatch, or a clear line saying why they are not here. */

/** Alerts listed; the link to Prometheus has the rest. */
export const MAX_ALERTS_SHOWN = 20;

// The labels that say what an alert (or its ticket) is about, in the order a person looks for them.
const SUBJECT = [
  'model',
  'version',
  'dataset',
  'feature',
  'column',
  'job_name',
  'service_name',
  'kpi',
  'check',
  'window',
];

/** "model=credit window=14d": what an alert or ticket is about. */
export function subject(labels: Record<string, string>): string {
  return SUBJECT.filter((k) => labels[k])
    .map((k) => `${k}=${labels[k]}`)
    .join(' ');
}

const SEVERITY_ORDER = ['critical', 'warning', 'info'];

function severityRank(a: FiringAlert): number {
  const i = SEVERITY_ORDER.indexOf(a.labels.severity ?? '');
  return i < 0 ? SEVERITY_ORDER.length : i;
}

function alertItem(a: FiringAlert, nowMs: number): string {
  const severity = a.labels.severity ?? '';
  const about = subject(a.labels);
  const summary = a.annotations.summary ? `<p>${esc(a.annotations.summary)}</p>` : '';
  const meta = [
    ...[
      a.labels.team ? `team ${a.labels.team}` : '',
      a.activeAtMs !== undefined ? `since ${ago(a.activeAtMs, nowMs)}` : '',
    ]
      .filter(Boolean)
      .map(esc),
    a.annotations.runbook_url ? link(a.annotations.runbook_url, 'runbook') : '',
    a.annotations.dashboard ? link(a.annotations.dashboard, 'dashboard') : '',
  ].filter(Boolean);
  return `<li class="alert ${esc(severity)}"><p class="title"><span class="sev">${esc(severity || 'alert')}</span> <b>${esc(a.labels.alertname ?? '')}</b>${about ? ` <span class="about">${esc(about)}</span>` : ''}</p>
${summary}${meta.length > 0 ? `<p class="meta">${meta.join(' · ')}</p>` : ''}</li>`;
}

export function alertsSection(view: AlertsView, nowMs: number): string {
  const head = '<section id="alerts"><h2>Firing alerts</h2>';
  if (view.kind === 'off') {
    return `${head}<p class="hint">Not configured: set <code>report.prometheus_url</code> in the config to list the alerts Prometheus fires for mlwatch here.</p></section>`;
  }
  const prometheus = link(`${view.url}/alerts`, view.url);
  if (view.kind === 'unreachable') {
    return `${head}<p class="problem">Prometheus at ${prometheus} cannot be reached: ${esc(view.reason)}. The checks below are current; the alerts are not shown.</p></section>`;
  }
  const pending =
    view.pending > 0 ? ` ${view.pending} more pending (waiting out their <code>for</code>).` : '';
  if (view.firing.length === 0) {
    return `${head}<p class="quiet">No mlwatch alert is firing in ${prometheus}.${pending}</p></section>`;
  }
  const sorted = [...view.firing].sort(
    (a, b) => severityRank(a) - severityRank(b) || (a.activeAtMs ?? 0) - (b.activeAtMs ?? 0),
  );
  const more =
    sorted.length > MAX_ALERTS_SHOWN
      ? `<p class="hint">${sorted.length - MAX_ALERTS_SHOWN} more in ${prometheus}.</p>`
      : '';
  return `${head}<p class="hint">${view.firing.length} firing in ${prometheus}.${pending}</p>
<ul class="alerts">${sorted
    .slice(0, MAX_ALERTS_SHOWN)
    .map((a) => alertItem(a, nowMs))
    .join('\n')}</ul>${more}</section>`;
}
