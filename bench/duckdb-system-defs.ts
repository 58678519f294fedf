/**
 * The kinds of bench/duckdb-data-kinds.ts beyond the dataset checks (bench/duckdb-data-defs.ts has the
 * interface): a model's labels, the system layer (a job's runs, a service's requests) and the ratio KPI.
 */
import { MEDIAN_VARIANCE } from '../src/checks/kpi/baseline.js';
import { DEFAULT_WINDOWS } from '../src/checks/kpi/section.js';
import { CLOSE, type DataKind, EXACT, MICROSECOND, type Saved, seriesOf } from './duckdb-data-defs.js';
import {
  KPI_WEEKS,
  SERVING_WINDOWS_S,
  writeDecisions,
  writeLabels,
  writeRequests,
  writeRuns,
} from './duckdb-data-files.js';
import { kindsOf } from './peer-kinds-defs.js';
import { JOB_WINDOWS_S, tablesOf } from './peer-kinds-tables.js';
import type { Expected } from './series-compare.js';

/**
 * No row of the job, serving and KPI files is this close under a window's edge (bench/window-gaps.ts): the check
 * and the peer must both read them within that long of the write (seconds apart). Under 300 s, so the serving
 * check's 5m window keeps requests.
 */
export const GAP_S = 240;
const csv = (dir: string, name: string) => `${dir}${name}.csv`;
const MODEL = { model: 'one' };

const labels: DataKind = {
  id: 'labels',
  name: 'labels',
  what: 'predictions, labeled ones, coverage, leakage and label delay p50/p95 [14d], latest label per key',
  write: writeLabels,
  // The oldest prediction is 13 days old at the write: a day before one leaves the 14d window.
  holdS: 86_000,
  files: { predictions: 'predictions', labels: 'labels' },
  body: `models:
  - name: one
    task: binary_classification
    owner: bench
    predictions: { table: files.predictions, key: key, timestamp: ts, score: s }
    labels: { table: files.labels, key: key, timestamp: lt, label: y }
    windows: [14d]
`,
  checkId: 'model:one:labels',
  peer: (dir) => ({
    kind: 'labels',
    data: true,
    files: { predictions: csv(dir, 'predictions'), labels: csv(dir, 'labels') },
    windows: { '14d': 14 * 86_400 },
  }),
  expected: (v) =>
    seriesOf(
      v,
      {
        n: ([window]) => ['mlwatch_model_predictions', { window: window as string }, EXACT],
        labeled: ([window]) => ['mlwatch_model_labeled_predictions', { window: window as string }, EXACT],
        coverage: ([window]) => ['mlwatch_model_label_coverage_ratio', { window: window as string }, CLOSE],
        leak: ([window]) => ['mlwatch_model_label_leakage_rows', { window: window as string }, EXACT],
        d50: ([window]) => [
          'mlwatch_model_label_delay_seconds',
          { window: window as string, percentile: '50' },
          MICROSECOND,
        ],
        d95: ([window]) => [
          'mlwatch_model_label_delay_seconds',
          { window: window as string, percentile: '95' },
          MICROSECOND,
        ],
      },
      MODEL,
    ),
  // Not mlwatch_model_info (1 while the model predicts) nor the versions' order (no versions here).
  families: [
    'mlwatch_model_predictions',
    'mlwatch_model_labeled_predictions',
    'mlwatch_model_label_coverage_ratio',
    'mlwatch_model_label_leakage_rows',
    'mlwatch_model_label_delay_seconds',
  ],
  subject: MODEL,
  postgres: {
    file: 'model-auc.json',
    from: 'bench/model-auc.ts (no leaked labels there)',
    check: (j) => j.auc?.labelsCheckMs?.median,
    peer: (j) => j.auc?.pandasLabelsMs?.median,
  },
};

const jobKind = kindsOf(tablesOf('files')).find((k) => k.name === 'job');
if (!jobKind) throw new Error('bench/peer-kinds-defs.ts has no job kind');

const job: DataKind = {
  id: 'job',
  name: 'job',
  what: 'runs by outcome and success ratio x 7 windows, runs in progress, last success, last and p95 duration',
  write: (c, dir) => writeRuns(c, dir, GAP_S),
  holdS: GAP_S,
  files: { runs: 'runs' },
  body: `jobs:
  - name: bench
    table: files.runs
    job_column: job
    status_column: status
    started_column: started_at
    finished_column: finished_at
`,
  checkId: 'job:bench',
  peer: (dir) => ({
    kind: 'job',
    data: true,
    files: { runs: csv(dir, 'runs') },
    job: 'bench',
    windows: JOB_WINDOWS_S,
    success_values: ['success'],
  }),
  // bench/peer-kinds.ts's series for the same peer values.
  expected: (v) => jobKind.expected(v),
  families: jobKind.families,
  subject: jobKind.subject,
  postgres: {
    file: 'peer-kinds.json',
    from: 'bench/peer-kinds.ts',
    check: (j) => j.kinds?.find((k: Saved) => k.kind === 'job')?.checkMs?.median,
    peer: (j) => j.kinds?.find((k: Saved) => k.kind === 'job')?.peerMs?.median,
  },
};

const SERVICE = { service_name: 'bench' };
const windowOf = Object.fromEntries(
  Object.entries(SERVING_WINDOWS_S).map(([label, s]) => [String(s), label]),
);

const serving: DataKind = {
  id: 'serving',
  name: 'serving',
  what: 'requests, errors, slow ratio and latency p50/p95/p99 x 5 windows',
  write: (c, dir) => writeRequests(c, dir, GAP_S),
  holdS: GAP_S,
  files: { requests: 'requests' },
  body: `serving:
  - name: bench
    table: files.requests
    timestamp: at
    latency: { column: latency_ms, unit: ms }
    status: { column: status }
`,
  checkId: 'serving:bench',
  peer: (dir) => ({
    kind: 'serving',
    data: true,
    files: { requests: csv(dir, 'requests') },
    windows: Object.values(SERVING_WINDOWS_S),
    objective_ms: 500,
  }),
  // The peer's keys are <figure>_<window in seconds>; the slow ratio is its slow requests over the timed ones.
  expected: (v) =>
    Object.entries(v).flatMap(([key, value]): Expected[] => {
      const [, what, seconds] = key.match(/^(\w+?)_(\d+)$/) ?? [];
      const window = windowOf[seconds as string];
      if (window === undefined) throw new Error(`the peer returned ${key}, which no window stands for`);
      const labels = { ...SERVICE, window };
      if (what === 'timed') return [];
      if (what === 'slow')
        return [
          {
            name: 'mlwatch_serving_slow_ratio',
            labels,
            value: value / (v[`timed_${seconds}`] as number),
            tolerance: CLOSE,
          },
        ];
      if (what === 'requests' || what === 'errors')
        return [{ name: `mlwatch_serving_${what}`, labels, value, tolerance: EXACT }];
      const percentile = what?.match(/^p(\d+)$/)?.[1];
      if (percentile === undefined) throw new Error(`the peer returned ${key}, which no series stands for`);
      return [
        {
          name: 'mlwatch_serving_latency_seconds',
          labels: { ...labels, percentile },
          value,
          tolerance: CLOSE,
        },
      ];
    }),
  // Not the objective (the config's 500 ms, a constant).
  families: [
    'mlwatch_serving_requests',
    'mlwatch_serving_errors',
    'mlwatch_serving_slow_ratio',
    'mlwatch_serving_latency_seconds',
  ],
  subject: SERVICE,
  postgres: {
    file: 'jobs-serving.json',
    from: 'bench/jobs-serving.ts',
    check: (j) => j.serving?.stats?.['serving check']?.median,
    peer: (j) => j.serving?.stats?.['pandas peer']?.median,
  },
};

const KPI = { kpi: 'approval' };

const kpi: DataKind = {
  id: 'kpi',
  name: 'ratio KPI',
  what: `approval rate x ${DEFAULT_WINDOWS.length} windows, now and in each of ${KPI_WEEKS} weeks: value, baseline, volumes, standard error`,
  write: (c, dir) => writeDecisions(c, dir, GAP_S),
  holdS: GAP_S,
  files: { decisions: 'decisions' },
  body: `kpis:
  - name: approval
    ratio: { table: files.decisions, timestamp: decided_at, numerator: approved }
    baseline: { weeks: ${KPI_WEEKS} }
`,
  checkId: 'kpi:approval',
  peer: (dir) => ({
    kind: 'kpi',
    data: true,
    files: { table: csv(dir, 'decisions') },
    timestamp: 'decided_at',
    numerator: 'approved',
    columns: ['decided_at', 'approved'],
    windows: Object.fromEntries(DEFAULT_WINDOWS.map((w) => [w.label, w.ms / 1000])),
    weeks: KPI_WEEKS,
    median_variance: MEDIAN_VARIANCE,
  }),
  expected: (v) =>
    seriesOf(
      v,
      {
        value: ([window]) => ['mlwatch_kpi_value', { window: window as string }, CLOSE],
        baseline: ([window]) => ['mlwatch_kpi_baseline', { window: window as string }, CLOSE],
        volume_current: ([window]) => [
          'mlwatch_kpi_volume',
          { window: window as string, period: 'current' },
          EXACT,
        ],
        volume_baseline: ([window]) => [
          'mlwatch_kpi_volume',
          { window: window as string, period: 'baseline' },
          EXACT,
        ],
        se: ([window]) => ['mlwatch_kpi_standard_error', { window: window as string }, CLOSE],
      },
      KPI,
    ),
  // Not mlwatch_kpi_info (always 1).
  families: ['mlwatch_kpi_value', 'mlwatch_kpi_baseline', 'mlwatch_kpi_volume', 'mlwatch_kpi_standard_error'],
  subject: KPI,
};

export const SYSTEM_KINDS: DataKind[] = [labels, job, serving, kpi];
