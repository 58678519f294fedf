import { DRIFT_PSI_THRESHOLD } from './promql.js';
import type { ReportData, Section } from './types.js';

/** A table cell: label values from alerts may hold anything, a `|` or a newline would break the table. */
function cell(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ') || '—';
}

function table(head: string[], rows: string[][]): string[] {
  return [
    `| ${head.join(' | ')} |`,
    `| ${head.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ];
}

const DASH = '—';
const num = (v: number | undefined) => (v === undefined ? DASH : v.toFixed(3));
const pct = (v: number | undefined) => (v === undefined ? DASH : `${(v * 100).toFixed(1)} %`);

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

function body<T>(s: Section<T>, empty: string, render: (rows: T[]) => string[]): string[] {
  if ('unavailable' in s) return [`_Not available: ${s.unavailable}._`];
  if (s.rows.length === 0) return [`_${empty}_`];
  return render(s.rows);
}

const stamp = (d: Date) => d.toISOString().replace('.000Z', 'Z');

/** The review as Markdown: a heading per section, a table or a one-line note in each. */
export function renderMarkdown(r: ReportData): string {
  const { period: p } = r;
  const out: string[] = [
    `# mlwatch weekly review: ${stamp(p.start)} to ${stamp(p.end)}`,
    '',
    `Model metrics over the trailing \`${p.window}\` window at the end of the period ("Now") and one period earlier ("Before"), the highest value across exporter instances. Activity counted in [${stamp(p.start)}, ${stamp(p.end)}).`,
    '',
    '## Model performance',
    '',
    ...body(
      r.performance,
      `No mlwatch_model_auc or mlwatch_model_mae series with window="${p.window}".`,
      (rows) =>
        table(
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
    '',
    '## Label coverage',
    '',
    ...body(r.coverage, `No mlwatch_model_label_coverage_ratio series with window="${p.window}".`, (rows) =>
      table(
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
    '',
    '## Drifted features',
    '',
    `Features whose PSI went above ${DRIFT_PSI_THRESHOLD} (the MlwatchFeatureDrift threshold) in any window at some time in the period, with the highest PSI seen.`,
    '',
    ...body(r.drift, 'No feature drifted.', (rows) =>
      table(
        ['Dataset', 'Feature', 'Max PSI'],
        rows.map((x) => [cell(x.dataset), cell(x.feature), x.maxPsi.toFixed(3)]),
      ),
    ),
    '',
    '## Tickets',
    '',
    ...body(r.tickets, 'No ticket opened or resolved.', (rows) =>
      table(
        ['Team', 'Layer', 'Opened', 'Resolved'],
        rows.map((x) => [cell(x.team), cell(x.layer), String(x.opened), String(x.resolved)]),
      ),
    ),
    '',
    '## Retraining requests',
    '',
    ...body(r.retrains, 'No retraining requested.', (rows) =>
      table(
        ['Model', 'Reason', 'Requests', 'Still pending', 'Deduplicated triggers'],
        rows.map((x) => [
          cell(x.model),
          cell(x.reason),
          String(x.requests),
          String(x.pending),
          String(x.deduplicated),
        ]),
      ),
    ),
    '',
    '## Rollbacks',
    '',
    ...body(r.rollbacks, 'No rollback requested.', (rows) =>
      table(
        ['Model', 'State', 'Requests'],
        rows.map((x) => [cell(x.model), cell(x.state), String(x.requests)]),
      ),
    ),
    '',
  ];
  return out.join('\n');
}
