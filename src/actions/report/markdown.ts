import { coverageSection, driftSection, performanceSection } from './markdown-metrics.js';
import { nowIntro, nowSections } from './markdown-now.js';
import { body, cell, stamp, table } from './markdown-parts.js';
import type { ReportData } from './types.js';

/** The review as Markdown: a heading per section, a table or a one-line note in each. */
export function renderMarkdown(r: ReportData): string {
  const { period: p } = r;
  const intro = r.now
    ? nowIntro(p, r.now)
    : [
        `Model metrics over the trailing \`${p.window}\` window at the end of the period ("Now") and one period earlier ("Before"), the highest value across exporter instances. Activity counted in [${stamp(p.start)}, ${stamp(p.end)}).`,
      ];
  const out: string[] = [
    `# mlwatch weekly review: ${stamp(p.start)} to ${stamp(p.end)}`,
    '',
    ...intro,
    '',
    ...performanceSection(r),
    '',
    ...coverageSection(r),
    '',
    ...driftSection(r),
    '',
    ...(r.now ? nowSections(r.now) : []),
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
