import { body, cell, DASH, num, pct, table } from './markdown-parts.js';
import { DRIFT_PSI_THRESHOLD } from './promql.js';
import type { ReportData, Section } from './types.js';

/** A signed difference; rounding to zero prints 0, never -0. */
function signed(d: number, digits: number): string {
  const text = Math.abs(d).toFixed(digits);
  if (Number(text) === 0) return text;
  return `${d < 0 ? '-' : '+'}${text}`;
}
const change = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined ? DASH : signed(b - a, 3);
const changePp = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined ? DASH : `${signed((b - a) * 100, 1)} pp`;

/** The AUC going down or the MAE going up, at the precision shown. */
function trend(metric: 'AUC' | 'MAE', a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined) return DASH;
  const d = Number((b - a).toFixed(3));
  if (d === 0) return 'same';
  return (metric === 'AUC') === d > 0 ? 'better' : 'worse';
}

/** True when the section holds the values now rather than Prometheus's history: its columns differ. */
const isNow = (s: Section<unknown>) => 'rows' in s && s.source?.kind === 'now';

/**
 * The line under a metric section's heading that names its source; for the values now also what they leave
 * out (`needs`) and why Prometheus was not read. The review never mixes sources without saying so.
 */
function sourceLine(s: Section<unknown>, needs: string): string[] {
  if (!('rows' in s) || !s.source) return [];
  if (s.source.kind === 'prometheus') return [`_From Prometheus at ${s.source.url}._`, ''];
  return [`_Now, from ${s.source.from}. ${needs} Prometheus's history: ${s.source.why}._`, ''];
}

export function performanceSection(r: ReportData): string[] {
  const s = r.performance;
  const empty = `No mlwatch_model_auc or mlwatch_model_mae series with window="${r.period.window}".`;
  return [
    '## Model performance',
    '',
    ...sourceLine(s, 'Before, Change and Trend need'),
    ...body(s, empty, (rows) =>
      isNow(s)
        ? table(
            ['Model', 'Version', 'Metric', 'Now'],
            rows.map((x) => [cell(x.model), cell(x.version), x.metric, num(x.now)]),
          )
        : table(
            ['Model', 'Version', 'Metric', 'Before', 'Now', 'Change', 'Trend'],
            rows.map((x) => [
              cell(x.model),
              cell(x.version),
              x.metric,
              num(x.previous),
              num(x.now),
              change(x.previous, x.now),
              trend(x.metric, x.previous, x.now),
            ]),
          ),
    ),
  ];
}

export function coverageSection(r: ReportData): string[] {
  const s = r.coverage;
  const empty = `No mlwatch_model_label_coverage_ratio series with window="${r.period.window}".`;
  return [
    '## Label coverage',
    '',
    ...sourceLine(s, 'Before and Change need'),
    ...body(s, empty, (rows) =>
      isNow(s)
        ? table(
            ['Model', 'Version', 'Now'],
            rows.map((x) => [cell(x.model), cell(x.version), pct(x.now)]),
          )
        : table(
            ['Model', 'Version', 'Before', 'Now', 'Change'],
            rows.map((x) => [
              cell(x.model),
              cell(x.version),
              pct(x.previous),
              pct(x.now),
              changePp(x.previous, x.now),
            ]),
          ),
    ),
  ];
}

export function driftSection(r: ReportData): string[] {
  const s = r.drift;
  const threshold = `${DRIFT_PSI_THRESHOLD} (the MlwatchFeatureDrift threshold)`;
  const head = [
    '## Drifted features',
    '',
    ...sourceLine(s, 'A feature that drifted earlier in the period, and its highest PSI, need'),
  ];
  if (isNow(s)) {
    return [
      ...head,
      `Features whose PSI is above ${threshold} in a window now.`,
      '',
      ...body(s, 'No feature is drifted now.', (rows) =>
        table(
          ['Dataset', 'Feature', 'Window', 'PSI now'],
          rows.map((x) => [cell(x.dataset), cell(x.feature), cell(x.window ?? ''), x.maxPsi.toFixed(3)]),
        ),
      ),
    ];
  }
  return [
    ...head,
    `Features whose PSI went above ${threshold} in any window at some time in the period, with the highest PSI seen.`,
    '',
    ...body(s, 'No feature drifted.', (rows) =>
      table(
        ['Dataset', 'Feature', 'Max PSI'],
        rows.map((x) => [cell(x.dataset), cell(x.feature), x.maxPsi.toFixed(3)]),
      ),
    ),
  ];
}
