import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfigFile, loadConfigText } from '../src/config/load.js';
import { rejectsEachFixture } from './helpers/bad-config.js';
import { ROOT, runCli } from './helpers/cli.js';

const dir = 'test/fixtures/bad-config';
const abs = resolve(ROOT, dir);

// Every bad config and the exact text the user reads. The loader runs with an empty environment.
const cases: [string, string][] = [
  ['01-empty.yaml', '01-empty.yaml:1: the file is empty; it needs at least a warehouse section'],
  ['02-syntax.yaml', '02-syntax.yaml:3: YAML syntax error: All mapping items must start at the same column'],
  ['03-missing-warehouse.yaml', '03-missing-warehouse.yaml:1 warehouse: missing; this key is required'],
  [
    '04-bad-url.yaml',
    '04-bad-url.yaml:2 warehouse.url: the URL must start with postgresql:// (or postgres://) for a server, pglite: for the embedded engine, or duckdb: for a DuckDB file',
  ],
  [
    '05-typo-key.yaml',
    "05-typo-key.yaml:3 warehouse.statment_timeout: unknown key; did you mean 'statement_timeout'?",
  ],
  [
    '06-bad-duration.yaml',
    "06-bad-duration.yaml:3 warehouse.statement_timeout: '30 seconds' is not a timeout: write it like 30s, 5m, 1h or 7d",
  ],
  [
    '07-pool-not-number.yaml',
    '07-pool-not-number.yaml:3 warehouse.pool: expected a whole number of connections',
  ],
  [
    '08-missing-env.yaml',
    '08-missing-env.yaml:2 warehouse.url: environment variable MLWATCH_FIXTURE_UNSET_URL is not set; export it, or write ${MLWATCH_FIXTURE_UNSET_URL:-default}',
  ],
  [
    '09-password-file-missing.yaml',
    `09-password-file-missing.yaml:3 warehouse.password_file: cannot read secrets/does-not-exist: no such file; create it or fix the path (relative to the config file's folder, ${abs})`,
  ],
  [
    '10-query-bad-name.yaml',
    '10-query-bad-name.yaml:4 queries[0].name: a query name uses lower_snake_case: a-z, 0-9 and _',
  ],
  [
    '11-counter-without-total.yaml',
    "11-counter-without-total.yaml:7 queries[0].metrics[0].name: a counter's name ends in _total: shop_orders_total",
  ],
  [
    '12-reserved-prefix.yaml',
    '12-reserved-prefix.yaml:7 queries[0].metrics[0].name: metric names starting with mlwatch_, process_, nodejs_ are reserved for built-in metrics; pick another prefix',
  ],
  [
    '13-labels-not-list.yaml',
    '13-labels-not-list.yaml:9 queries[0].metrics[0].labels: expected a list of label column names',
  ],
  [
    '14-duplicate-query.yaml',
    "14-duplicate-query.yaml:10 queries[1].name: query name 'orders' is already used by queries[0]",
  ],
  [
    '15-interval-and-cron.yaml',
    '15-interval-and-cron.yaml:7 queries[0].cron: give interval or cron, not both',
  ],
  [
    '16-bad-cron.yaml',
    "16-bad-cron.yaml:6 queries[0].cron: 'every 5 minutes' is not a valid cron expression (5 or 6 fields, e.g. '*/5 * * * *')",
  ],
  [
    '17-no-value.yaml',
    '17-no-value.yaml:7 queries[0].metrics[0]: give exactly one of value (one column) or values (several)',
  ],
  [
    '18-values-need-label.yaml',
    '18-values-need-label.yaml:7 queries[0].metrics[0].value_label: several value columns need value_label: the label that tells their series apart',
  ],
  [
    '19-label-and-value.yaml',
    "19-label-and-value.yaml:7 queries[0].metrics[0]: column 'n' is both a label and a value",
  ],
  [
    '20-job-value-without-column.yaml',
    '20-job-value-without-column.yaml:6 jobs[0].job: job is a value of job_column; name the column that holds job names as job_column',
  ],
  [
    '21-duplicate-metric.yaml',
    "21-duplicate-metric.yaml:13 queries[1].metrics[0].name: metric 'shop_orders' is already produced by queries[0]; one query owns a metric",
  ],
  ['22-jitter-range.yaml', '22-jitter-range.yaml:4 defaults.jitter: jitter is a fraction between 0 and 1'],
  [
    '23-password-and-file.yaml',
    '23-password-and-file.yaml:4 warehouse.password_file: give password or password_file, not both',
  ],
  ['24-duplicate-key.yaml', '24-duplicate-key.yaml:4: YAML syntax error: Map keys must be unique'],
  [
    '25-query-writes.yaml',
    '25-query-writes.yaml:5 queries[0].sql: a query is one SELECT (or WITH ... SELECT, VALUES, TABLE) statement; checks only read',
  ],
  [
    '26-nulls-columns.yaml',
    '26-nulls-columns.yaml:10 datasets[0].checks.nulls.columns: expected a list of column names, or all (every column of the table)',
  ],
  [
    '27-job-typo-key.yaml',
    "27-job-typo-key.yaml:8 jobs[0].sucess_values: unknown key; did you mean 'success_values'?",
  ],
  [
    '28-job-success-values.yaml',
    '28-job-success-values.yaml:8 jobs[0].success_values: expected a list of the status values that mean success, e.g. [success, succeeded]',
  ],
  [
    '29-serving-latency-unit.yaml',
    "29-serving-latency-unit.yaml:9 serving[0].latency.unit: expected the latency column's unit: s, ms or us",
  ],
  [
    '30-serving-latency-column.yaml',
    '30-serving-latency-column.yaml:7 serving[0].latency: expected latency: { column: <name>, unit: s | ms | us }',
  ],
  [
    '31-serving-objective.yaml',
    '31-serving-objective.yaml:8 serving[0].objective: expected a latency objective like 250ms or 1s',
  ],
  [
    '32-serving-error-rule.yaml',
    '32-serving-error-rule.yaml:11 serving[0].status.error_values: give error_min or error_values, not both',
  ],
  [
    '33-duplicate-service.yaml',
    "33-duplicate-service.yaml:8 serving[1].name: service name 'scoring_api' is already used by serving[0]",
  ],
  [
    '34-drift-ks-interval.yaml',
    "34-drift-ks-interval.yaml:11 datasets[0].checks.drift.ks_interval: '1 hour' is not an interval: write it like 30s, 5m, 1h or 7d",
  ],
  [
    '35-model-segment-repeated.yaml',
    "35-model-segment-repeated.yaml:9 models[0].segments[2]: segment column 'channel' is listed twice",
  ],
  [
    '36-model-max-segments.yaml',
    '36-model-max-segments.yaml:10 models[0].max_segments: max_segments is a whole number from 1 to 100',
  ],
  [
    '37-model-segments-not-list.yaml',
    '37-model-segments-not-list.yaml:9 models[0].segments: expected a list of predictions-table columns to slice by, e.g. [channel]',
  ],
];

describe('bad configs name the file, line, path and fix', () => {
  rejectsEachFixture(dir, cases);

  it('lists every problem of a file at once, in line order', () => {
    const text = [
      'warehouse:',
      '  url: postgresql://x/db',
      '  pool: 0',
      'defaults:',
      '  intervl: 1m',
      'queries:',
      '  - name: q',
      '    sql: SELECT 1 AS n',
      '    metrics: [{ name: a_total, help: h, value: n }]',
    ].join('\n');
    expect(() => loadConfigText(text, 'm.yaml', {}, '/')).toThrow(
      [
        'm.yaml:3 warehouse.pool: the pool needs at least 1 connection',
        "m.yaml:5 defaults.intervl: unknown key; did you mean 'interval'?",
        'm.yaml:9 queries[0].metrics[0].name: _total is for counters; drop the suffix or set type: counter',
      ].join('\n'),
    );
  });

  it('refuses a table name the same way in every section, and a schedule given twice', () => {
    const text = [
      'warehouse: { url: postgresql://x/db }',
      'datasets:',
      "  - { name: d, table: 'a.b.c.d', timestamp: ts, checks: { freshness: {} }, interval: 1m, cron: '* * * * *' }",
      'jobs:',
      "  - { name: j, table: 'a.', status_column: s, started_column: b, finished_column: e }",
      'serving:',
      "  - { name: s, table: 'a.b.c.d', timestamp: ts, latency: { column: l, unit: ms } }",
      'kpis:',
      "  - { name: k, ratio: { table: 'x\"y', timestamp: ts, numerator: ok } }",
    ].join('\n');
    const hint = ' (quote a part with double quotes if it holds a dot)';
    expect(() => loadConfigText(text, 'm.yaml', {}, '/')).toThrow(
      [
        `m.yaml:3 datasets[0].table: 'a.b.c.d' has 4 parts; write schema.table${hint}`,
        'm.yaml:3 datasets[0].cron: give interval or cron, not both',
        `m.yaml:5 jobs[0].table: 'a.' ends with a dot${hint}`,
        `m.yaml:7 serving[0].table: 'a.b.c.d' has 4 parts; write schema.table${hint}`,
        `m.yaml:9 kpis[0].ratio.table: 'x"y' is not a table name like schema.table${hint}`,
      ].join('\n'),
    );
  });
});

describe('mlwatch check-config', () => {
  it('exits 1 with the message and no stack trace', () => {
    const r = runCli(['check-config', `${dir}/05-typo-key.yaml`]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      `${dir}/05-typo-key.yaml:3 warehouse.statment_timeout: unknown key; did you mean 'statement_timeout'?\n`,
    );
  });

  it('exits 0 with a one-line summary for a valid file', () => {
    const r = runCli(['check-config', 'mlwatch.example.yaml']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(
      'mlwatch.example.yaml: valid, 13 check(s) (1 dataset_scan, 1 dataset_duplicates, 1 dataset_schema, 1 dataset_drift, 1 dataset_drift_ks, 1 model_labels, 1 model_performance, 1 model_prediction_drift, 1 model_segments, 1 job, 1 serving, 1 kpi, 1 query)\n',
    );
    expect(r.code).toBe(0);
  });

  it('reports a missing file without a stack trace', () => {
    const r = runCli(['check-config', 'nope.yaml']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('nope.yaml: cannot read the config file: no such file\n');
  });

  it('says a directory is not a config file, without an errno name', () => {
    const r = runCli(['check-config', 'docs']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('docs: cannot read the config file: it is a directory, not a file\n');
  });

  it('serve refuses a bad config before listening', () => {
    const r = runCli(['serve', '--config', `${dir}/04-bad-url.yaml`, '--port', '0']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('04-bad-url.yaml:2 warehouse.url: the URL must start with');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('environment and secrets', () => {
  const base = (extra: string) => `warehouse:\n  url: \${DB_URL}\n${extra}`;

  it('substitutes ${VAR}, falls back to ${VAR:-default}, and keeps $${ literal and SQL $1', () => {
    const text = [
      'warehouse:',
      '  url: ${DB_URL}',
      '  application_name: ${APP:-mlwatch-test}',
      'queries:',
      '  - name: q',
      "    sql: SELECT $1::text AS x, '$${NOT_A_VAR}' AS y, 1 AS n",
      '    metrics: [{ name: m, help: h, value: n }]',
    ].join('\n');
    const c = loadConfigText(text, 'm.yaml', { DB_URL: 'postgresql://db/x' }, '/');
    expect(c.warehouse.url).toBe('postgresql://db/x');
    expect(c.warehouse.applicationName).toBe('mlwatch-test');
    expect(c.raw.queries[0]?.sql).toBe("SELECT $1::text AS x, '${NOT_A_VAR}' AS y, 1 AS n");
  });

  it('reads password_file relative to the config file and strips the trailing newline', () => {
    const d = mkdtempSync(join(tmpdir(), 'mlwatch-'));
    writeFileSync(join(d, 'pw'), 's3cret\n');
    writeFileSync(join(d, 'm.yaml'), base('  password_file: pw\n'));
    expect(loadConfigFile(join(d, 'm.yaml'), { DB_URL: 'postgresql://db/x' }).warehouse.password).toBe(
      's3cret',
    );
  });

  it('applies defaults', () => {
    const c = loadConfigText(base(''), 'm.yaml', { DB_URL: 'postgresql://db/x' }, '/');
    expect(c.warehouse).toMatchObject({ pool: 4, statementTimeoutMs: 30_000, connectTimeoutMs: 10_000 });
    expect(c.defaults).toEqual({ intervalMs: 60_000, jitter: 0.1 });
  });
});
