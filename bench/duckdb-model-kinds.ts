/**
 * The model kinds of bench/duckdb.ts beyond the binary check, on DuckDB over Parquet, each against what
 * pandas users do with the same rows (pandas.read_csv + scikit-learn or numpy, bench/pandas-peer.py's
 * pull_model_files): a classifier's segments (exact AUC per segment value, accuracy, positive rates, counts;
 * segments [channel, region], max_segments 10), a regression model's errors (MAE, RMSE, MAPE, bias, R^2), and
 * the prediction drift (PSI of the scores against a 100,000-row reference); windows [1d, 7d, 14d] each, as
 * bench/peer-kinds.ts runs them on PostgreSQL.
 *
 * The rows are peer-kinds-tables.ts's model, written by DuckDB: 1,000,000 predictions (a distinct score, a
 * predicted amount, channel: 5 values, skewed, NULL on every 200th; region: 40 values, skewed, 10 kept) with
 * ages clear of the 1d and 7d edges by more than the run lasts (bench/window-gaps.ts), so the check and the
 * peer, minutes apart, see the same windows; labels (0/1 and an actual amount, 0 on every 1,000th key) 1 to
 * 24 hours after their prediction and only those already due; the reference's scores skewed low.
 */
import { performance } from 'node:perf_hooks';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { Check } from '../src/checks/types.js';
import { loadConfigText } from '../src/config/load.js';
import type { Sample } from '../src/metrics/types.js';
import { openWarehouse } from '../src/warehouse/open.js';
import type { PeerRequest } from './pandas-peer.js';
import { REFERENCE_ROWS } from './peer-kinds-tables.js';
import { ageAvoiding, gapsBelow } from './window-gaps.js';

const DAY = 86_400;
const WINDOWS: Record<string, number> = { '1d': DAY, '7d': 7 * DAY, '14d': 14 * DAY };
const COLUMNS = ['channel', 'region'];
const MAX_SEGMENTS = 10;
const THRESHOLD = 0.5;
/** Longer than the whole bench: no row crosses a window's edge while it runs. */
const GAP_S = 1_800;
const ISO = "'%Y-%m-%dT%H:%M:%S.%fZ'";

/** Writes model-{predictions,labels,reference}.{parquet,csv} into `dir` from `rows` predictions. */
export async function writeModelFiles(c: DuckDBConnection, dir: string, rows: number): Promise<void> {
  const age = ageAvoiding('u', 1, 13 * DAY, gapsBelow([DAY, 7 * DAY], GAP_S));
  await c.run(`CREATE TABLE mp AS
    SELECT i AS key, now() - to_microseconds((${age} * 1000000)::bigint) AS ts,
           ((i * 7919) % 10000000 + 0.5) / 10000000.0 AS s, 50 + 450 * random() AS amount_pred,
           CASE WHEN i % 200 = 0 THEN NULL
                ELSE (['web', 'app', 'branch', 'partner', 'phone'])[1 + floor(5 * random() ^ 2)::int] END AS channel,
           'r' || lpad(floor(40 * random() ^ 3)::int::text, 2, '0') AS region
    FROM (SELECT i, random() AS u FROM range(1, ${rows + 1}) t(i))`);
  await c.run(`CREATE TABLE ml AS
    SELECT key, lt, random() < s AS y,
           CASE WHEN key % 1000 = 0 THEN 0
                ELSE greatest(0, amount_pred * (0.8 + 0.4 * random()) + 10 * (random() - 0.5)) END AS amount
    FROM (SELECT key, s, amount_pred, ts + INTERVAL 1 HOUR + INTERVAL 23 HOUR * random() AS lt FROM mp)
    WHERE lt < now()`);
  await c.run(`CREATE TABLE mr AS
    SELECT power(((i * 104729) % 10000000 + 0.5) / 10000000.0, 1.15) AS s FROM range(1, ${REFERENCE_ROWS + 1}) t(i)`);
  const csv: Array<[string, string]> = [
    ['predictions', `SELECT key, strftime(ts, ${ISO}) AS ts, s, amount_pred, channel, region FROM mp`],
    ['labels', `SELECT key, strftime(lt, ${ISO}) AS lt, y::int AS y, amount FROM ml`],
    ['reference', 'SELECT s FROM mr'],
  ];
  for (const [name, select] of csv) {
    const table = { predictions: 'mp', labels: 'ml', reference: 'mr' }[name];
    await c.run(`COPY ${table} TO '${dir}model-${name}.parquet' (FORMAT parquet)`);
    await c.run(`COPY (${select}) TO '${dir}model-${name}.csv' (FORMAT csv, HEADER)`);
  }
}

/** The check's series for a peer value name `metric|window|...`: its family and labels. */
type Series = (parts: string[]) => { name: string; labels: Record<string, string> };

/** One kind: which check, what the peer computes, how the peer's values name the check's series. */
export interface ModelKind {
  name: string;
  what: string;
  checkId: string;
  peer: (dir: string) => PeerRequest;
  series: Record<string, Series>;
}

const perWindow =
  (name: string, extra: Record<string, string> = {}): Series =>
  ([window]) => ({ name, labels: { window: window as string, ...extra } });
const perSegment =
  (name: string, extra: Record<string, string> = {}): Series =>
  ([window, segment, value]) => ({
    name,
    labels: {
      window: window as string,
      segment: segment as string,
      segment_value: value as string,
      ...extra,
    },
  });

const files = (dir: string, ...names: string[]) =>
  Object.fromEntries(names.map((n) => [n, `${dir}model-${n}.csv`]));

export const MODEL_KINDS: ModelKind[] = [
  {
    name: 'segments',
    what: 'segments [channel, region] of a classifier (AUC, accuracy, positive rates)',
    checkId: 'model:cls:segments',
    peer: (dir) => ({
      kind: 'segments',
      files: files(dir, 'predictions', 'labels'),
      value: 's',
      label: 'y',
      windows: WINDOWS,
      columns: COLUMNS,
      max_segments: MAX_SEGMENTS,
      threshold: THRESHOLD,
    }),
    series: {
      n_all: perSegment('mlwatch_model_segment_predictions'),
      n_lab: perSegment('mlwatch_model_segment_labeled_predictions'),
      auc: perSegment('mlwatch_model_segment_auc'),
      accuracy: perSegment('mlwatch_model_segment_accuracy'),
      rate_predicted: perSegment('mlwatch_model_segment_positive_rate', { source: 'predicted' }),
      rate_actual: perSegment('mlwatch_model_segment_positive_rate', { source: 'actual' }),
    },
  },
  {
    name: 'regression',
    what: 'regression performance (MAE, RMSE, MAPE, bias, R²)',
    checkId: 'model:reg:performance',
    peer: (dir) => ({
      kind: 'regression',
      files: files(dir, 'predictions', 'labels'),
      value: 'amount_pred',
      label: 'amount',
      windows: WINDOWS,
    }),
    series: {
      mae: perWindow('mlwatch_model_mae'),
      rmse: perWindow('mlwatch_model_rmse'),
      mape: perWindow('mlwatch_model_mape'),
      mape_excluded: perWindow('mlwatch_model_mape_excluded_rows'),
      bias: perWindow('mlwatch_model_bias'),
      r2: perWindow('mlwatch_model_r2'),
    },
  },
  {
    name: 'prediction drift',
    what: 'prediction drift (PSI of the scores against a cached 100,000-row reference)',
    checkId: 'model:cls:prediction_drift',
    peer: (dir) => ({
      kind: 'prediction_psi',
      files: files(dir, 'predictions', 'reference'),
      value: 's',
      windows: WINDOWS,
    }),
    series: { psi: perWindow('mlwatch_model_prediction_psi') },
  },
];

/** The config of every kind's check, on DuckDB over the Parquet files. */
function config(dir: string): string {
  return `warehouse:
  url: duckdb:memory
  statement_timeout: 120s
  files:
    predictions: { parquet: ${dir}model-predictions.parquet }
    labels: { parquet: ${dir}model-labels.parquet }
    reference: { parquet: ${dir}model-reference.parquet }
state: { url: pglite:memory }
models:
  - name: cls
    task: binary_classification
    owner: bench
    predictions: { table: files.predictions, key: key, timestamp: ts, score: s }
    labels: { table: files.labels, key: key, timestamp: lt, label: y }
    windows: [${Object.keys(WINDOWS).join(', ')}]
    threshold: ${THRESHOLD}
    segments: [${COLUMNS.join(', ')}]
    max_segments: ${MAX_SEGMENTS}
    reference: { table: files.reference }
  - name: reg
    task: regression
    owner: bench
    predictions: { table: files.predictions, key: key, timestamp: ts, prediction: amount_pred }
    labels: { table: files.labels, key: key, timestamp: lt, label: amount }
    windows: [${Object.keys(WINDOWS).join(', ')}]
`;
}

/** A check on DuckDB, by id, from a config's text: run() times one run; samples() are the last run's. */
export function timedCheck(
  configText: string,
  dir: string,
  checkId: string,
): { close: () => Promise<void>; run: () => Promise<number>; samples: () => Sample[] } {
  const cfg = loadConfigText(configText, 'bench.yaml', {}, dir);
  const check = cfg.checks.find((k) => k.id === checkId) as Check;
  const w = openWarehouse(cfg.warehouse);
  let last: Sample[] = [];
  return {
    close: () => w.close(),
    samples: () => last,
    async run() {
      const t0 = performance.now();
      const r = await w.readOnly({ timeoutMs: 120_000 }, (q) => check.run(q));
      const t = performance.now() - t0;
      last = r.samples;
      return t;
    },
  };
}

/** A kind's check on DuckDB over the model files. */
export const modelKindCheck = (dir: string, kind: ModelKind) => timedCheck(config(dir), dir, kind.checkId);

/**
 * Every value of the peer against the check's series with the same labels (counts exactly, the rest to 1e-9
 * of their size), and no series of those families that the peer has no value for; throws on the first
 * difference. Returns how many values were compared.
 */
export function compareKind(
  kind: ModelKind,
  samples: readonly Sample[],
  peer: Record<string, number>,
): number {
  const key = (name: string, labels: Record<string, string>) =>
    `${name}${JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)))}`;
  const families = new Set(Object.values(kind.series).map((s) => s(['', '', '']).name));
  const got = new Map(
    samples
      .filter((s) => families.has(s.name))
      .map((s) => {
        const { model: _model, ...labels } = s.labels;
        return [key(s.name, labels), s.value] as const;
      }),
  );
  let compared = 0;
  for (const [name, expected] of Object.entries(peer)) {
    const [metric, ...parts] = name.split('|') as [string, ...string[]];
    const series = kind.series[metric];
    if (series === undefined)
      throw new Error(`${kind.name}: the peer returned ${name}, which no series stands for`);
    const { name: family, labels } = series(parts);
    const k = key(family, labels);
    const actual = got.get(k);
    const exact = metric.startsWith('n_') || metric === 'mape_excluded';
    if (
      actual === undefined ||
      !(Math.abs(actual - expected) <= (exact ? 0 : 1e-9 * Math.max(1, Math.abs(expected))))
    )
      throw new Error(`${kind.name}: ${name} is ${actual} in the check, ${expected} in the peer`);
    got.delete(k);
    compared++;
  }
  if (got.size > 0)
    throw new Error(`${kind.name}: the check has series the peer has not: ${[...got.keys()][0]}`);
  return compared;
}
