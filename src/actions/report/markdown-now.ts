import { cell, num, pct, stamp, table } from './markdown-parts.js';
import type { NowSections, ReportPeriod } from './types.js';

/** Seconds as a reader takes them in at a glance: 45 s, 12 min, 5.5 h, 3.2 d. */
export function age(seconds: number): string {
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)} min`;
  if (seconds < 48 * 3600) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86_400).toFixed(1)} d`;
}

/** The intro of a review some of whose sections are the values now: why, from where, and the checks missing. */
export function nowIntro(p: ReportPeriod, n: NowSections): string[] {
  const failed = n.failed.map((f) => `\`${f.check}\`${f.error ? ` (${cell(f.error)})` : ''}`);
  return [
    `**Without Prometheus**: ${n.why}. Sections marked _Now_ show the values now, from ${n.from} (${n.detail}), and say what needs Prometheus's history. Model metrics over the trailing \`${p.window}\` window; activity counted in [${stamp(p.start)}, ${stamp(p.end)}) from the state store.`,
    ...(failed.length
      ? [
          '',
          `Checks that failed, so their values below are missing or from their last good run: ${failed.join('; ')}.`,
        ]
      : []),
  ];
}

function now(n: NowSections): string[] {
  return [`_Now, from ${n.from}. How these moved over the period needs Prometheus's history: ${n.why}._`, ''];
}

const orNote = (rows: string[][], empty: string, render: (rows: string[][]) => string[]) =>
  rows.length === 0 ? [`_${empty}_`] : render(rows);

/**
 * The checks' other values now, which only a review without Prometheus lists (with Prometheus the dashboards
 * show them over time): freshness and null ratios, job runs, KPIs.
 */
export function nowSections(n: NowSections): string[] {
  const data = n.data.map((x) => [
    cell(x.dataset),
    x.measure,
    cell(x.column ?? ''),
    cell(x.window ?? ''),
    x.measure === 'newest row age' ? age(x.value) : pct(x.value),
  ]);
  const jobs = n.jobs.map((x) => [
    cell(x.job),
    cell(x.window),
    String(x.succeeded),
    String(x.failed),
    pct(x.successRatio),
  ]);
  const kpis = n.kpis.map((x) => [cell(x.kpi), cell(x.window), num(x.value), num(x.baseline)]);
  return [
    '## Data quality now',
    '',
    ...now(n),
    ...orNote(data, 'No freshness or null ratio check gave a value.', (rows) =>
      table(['Dataset', 'Measure', 'Column', 'Window', 'Now'], rows),
    ),
    '',
    '## Jobs now',
    '',
    ...now(n),
    ...orNote(jobs, 'No job check gave a value.', (rows) =>
      table(['Job', 'Window', 'Succeeded', 'Failed', 'Success ratio'], rows),
    ),
    '',
    '## KPIs now',
    '',
    ...now(n),
    ...orNote(kpis, 'No KPI check gave a value.', (rows) =>
      table(['KPI', 'Window', 'Now', 'Baseline'], rows),
    ),
    '',
  ];
}
