import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { NO_PROMETHEUS } from '../src/actions/report/build.js';
import { createPgWriter } from '../src/warehouse/pg.js';
import { runCli, type Served, startCli } from './helpers/cli.js';
import { onRealPostgres, TEST_DATABASE_URL } from './helpers/db.js';
import { type Parsed, series } from './helpers/exposition.js';
import { scrape, waitFor } from './helpers/wait.js';

// The README's demo, then `mlwatch report --exporter <the demo>` (docs/report.md): the demo's warehouse lives in
// its own process, so the review reads the values now from the demo's /metrics. Each value in the review must be
// one the demo served, scraped here with the tests' own parser just before and just after the report ran (a
// check may run in between). On a real PostgreSQL the demo seeds a schema there, as `--warehouse-url` does.
const row = (...cells: string[]) => `| ${cells.join(' | ')} |`;
const pct = (v: number) => `${(v * 100).toFixed(1)} %`;

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** The rows the review should hold for a scrape: the 7d AUC and coverage, income's null ratio, the 1d KPI. */
function expectedRows(m: Parsed): string[] {
  const model = (name: string, render: (v: number) => string, metric?: string) =>
    series(m, name, { window: '7d' }).map((s) =>
      row(...[s.labels.model ?? '', s.labels.version ?? '', ...(metric ? [metric] : []), render(s.value)]),
    );
  const kpi = (w: string) => series(m, 'mlwatch_kpi_value', { kpi: 'approval_rate', window: w });
  const baseline = series(m, 'mlwatch_kpi_baseline', { kpi: 'approval_rate', window: '1d' })[0];
  return [
    ...model('mlwatch_model_auc', (v) => v.toFixed(3), 'AUC'),
    ...model('mlwatch_model_label_coverage_ratio', pct),
    ...series(m, 'mlwatch_dataset_null_ratio', { dataset: 'applications', column: 'income' }).map((s) =>
      row('applications', 'null ratio', 'income', s.labels.window ?? '', pct(s.value)),
    ),
    ...kpi('1d').map((s) =>
      row('approval_rate', '1d', s.value.toFixed(3), baseline?.value.toFixed(3) ?? '—'),
    ),
  ];
}

describe('mlwatch report against the demo', () => {
  it("shows the demo's values now, from its /metrics, and names what needs Prometheus", async () => {
    const args: string[] = [];
    if (onRealPostgres) {
      const schema = `demo_${randomBytes(4).toString('hex')}`;
      const writer = createPgWriter(TEST_DATABASE_URL as string);
      cleanups.push(async () => {
        await writer.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await writer.close();
      });
      args.push('--warehouse-url', TEST_DATABASE_URL as string, '--schema', schema);
    }
    // No batch during the test: the values move only as the windows slide.
    const served: Served = await startCli(['demo', '--port', '0', '--batch-interval', '3600', ...args]);
    cleanups.push(() => served.stop('SIGKILL'));
    await waitFor(async () => (await fetch(`${served.url}/readyz`)).status === 200, 60_000, 'demo ready');

    const before = expectedRows(await scrape(served.url));
    const r = runCli(['report', '--exporter', served.url]);
    const after = expectedRows(await scrape(served.url));

    expect(r.code).toBe(0);
    // Every kind of value is there, and the demo has them: an AUC, two coverages, income's nulls, the KPI.
    expect(before.length).toBeGreaterThanOrEqual(5);
    before.forEach((line, i) => {
      const either = r.stdout.includes(line) || r.stdout.includes(after[i] as string);
      expect(either, `${line} (or, after, ${after[i]}) in the review:\n${r.stdout}`).toBe(true);
    });
    expect(r.stdout).toContain(
      `## Model performance\n\n_Now, from the exporter at ${served.url}. Before, Change and Trend need Prometheus's history: ${NO_PROMETHEUS}._`,
    );
    expect(r.stdout).toContain('| feature_pipeline | 3d | ');
    // The demo's state store is inside its process: said, not guessed.
    expect(r.stdout).toContain(
      '## Tickets\n\n_Not available: no --config given, so no state store to read (the demo keeps its own inside its process',
    );
    expect(r.stderr).toContain(
      `warning: ${NO_PROMETHEUS}: the model and data sections show the values now, from the exporter at ${served.url}`,
    );
  }, 120_000);
});
