/**
 * The segments side of bench/duckdb.ts: a classifier's per-segment performance (exact AUC per segment value,
 * accuracy, positive rates, counts; windows [1d, 7d, 14d], segments [channel, region], max_segments 10) on
 * DuckDB over Parquet, against pandas.read_csv + scikit-learn per segment on the same rows. The one DuckDB kind
 * whose cost grew with the square of the rows before its running counts were spelled count(1)
 * (src/sql/window-count.ts), so the bench holds it apart from the binary check.
 *
 * The rows are bench/peer-kinds-tables.ts's predictions (channel: 5 values, skewed, NULL on every 200th;
 * region: 40 values, skewed, 10 kept), written by DuckDB: ages clear of the 1d and 7d edges by more than the
 * run lasts (bench/window-gaps.ts), so the check and the peer, minutes apart, see the same windows; labels 1
 * to 24 hours after their prediction and only those already due, so the last day's predictions are partly
 * unlabeled.
 */
import { performance } from 'node:perf_hooks';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { Check } from '../src/checks/types.js';
import { loadConfigText } from '../src/config/load.js';
import type { Sample } from '../src/metrics/types.js';
import { openWarehouse } from '../src/warehouse/open.js';
import type { PeerRequest } from './pandas-peer.js';
import { ageAvoiding, gapsBelow } from './window-gaps.js';

const DAY = 86_400;
const WINDOWS: Record<string, number> = { '1d': DAY, '7d': 7 * DAY, '14d': 14 * DAY };
const COLUMNS = ['channel', 'region'];
const MAX_SEGMENTS = 10;
const THRESHOLD = 0.5;
/** Longer than the whole bench: no row crosses a window's edge while it runs. */
const GAP_S = 1_800;

/** Writes segments.{parquet,csv} and segment-labels.{parquet,csv} into `dir` from `rows` predictions. */
export async function writeSegmentFiles(c: DuckDBConnection, dir: string, rows: number): Promise<void> {
  const age = ageAvoiding('u', 1, 13 * DAY, gapsBelow([DAY, 7 * DAY], GAP_S));
  await c.run(`CREATE TABLE sp AS
    SELECT i AS key, now() - to_microseconds((${age} * 1000000)::bigint) AS ts,
           ((i * 7919) % 10000000 + 0.5) / 10000000.0 AS s,
           CASE WHEN i % 200 = 0 THEN NULL
                ELSE (['web', 'app', 'branch', 'partner', 'phone'])[1 + floor(5 * random() ^ 2)::int] END AS channel,
           'r' || lpad(floor(40 * random() ^ 3)::int::text, 2, '0') AS region
    FROM (SELECT i, random() AS u FROM range(1, ${rows + 1}) t(i))`);
  await c.run(`CREATE TABLE sl AS
    SELECT key, lt, random() < s AS y
    FROM (SELECT key, s, ts + INTERVAL 1 HOUR + INTERVAL 23 HOUR * random() AS lt FROM sp)
    WHERE lt < now()`);
  await c.run(`COPY sp TO '${dir}segments.parquet' (FORMAT parquet)`);
  await c.run(`COPY sl TO '${dir}segment-labels.parquet' (FORMAT parquet)`);
  await c.run(
    `COPY (SELECT key, strftime(ts, '%Y-%m-%dT%H:%M:%S.%fZ') AS ts, s, channel, region FROM sp) TO '${dir}segments.csv' (FORMAT csv, HEADER)`,
  );
  await c.run(
    `COPY (SELECT key, strftime(lt, '%Y-%m-%dT%H:%M:%S.%fZ') AS lt, y::int AS y FROM sl) TO '${dir}segment-labels.csv' (FORMAT csv, HEADER)`,
  );
}

/** The segments check on DuckDB over the Parquet files: run() times one run; samples() are the last run's. */
export function segmentsCheck(dir: string): {
  close: () => Promise<void>;
  run: () => Promise<number>;
  samples: () => Sample[];
} {
  const cfg = loadConfigText(
    `warehouse:
  url: duckdb:memory
  statement_timeout: 120s
  files:
    predictions: { parquet: ${dir}segments.parquet }
    labels: { parquet: ${dir}segment-labels.parquet }
state: { url: pglite:memory }
models:
  - name: seg
    task: binary_classification
    owner: bench
    predictions: { table: files.predictions, key: key, timestamp: ts, score: s }
    labels: { table: files.labels, key: key, timestamp: lt, label: y }
    windows: [${Object.keys(WINDOWS).join(', ')}]
    threshold: ${THRESHOLD}
    segments: [${COLUMNS.join(', ')}]
    max_segments: ${MAX_SEGMENTS}
`,
    'bench.yaml',
    {},
    dir,
  );
  const check = cfg.checks.find((k) => k.id === 'model:seg:segments') as Check;
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

/** What the pandas peer computes for the same files (bench/pandas-peer.py, kind segments with files). */
export const segmentsPeerRequest = (dir: string): PeerRequest => ({
  kind: 'segments',
  files: { predictions: `${dir}segments.csv`, labels: `${dir}segment-labels.csv` },
  windows: WINDOWS,
  columns: COLUMNS,
  max_segments: MAX_SEGMENTS,
  threshold: THRESHOLD,
});

/** The peer's value names (metric|window|column|value) as the check's series: family and extra labels. */
const FAMILIES: Record<string, [string, Record<string, string>]> = {
  n_all: ['mlwatch_model_segment_predictions', {}],
  n_lab: ['mlwatch_model_segment_labeled_predictions', {}],
  auc: ['mlwatch_model_segment_auc', {}],
  accuracy: ['mlwatch_model_segment_accuracy', {}],
  rate_predicted: ['mlwatch_model_segment_positive_rate', { source: 'predicted' }],
  rate_actual: ['mlwatch_model_segment_positive_rate', { source: 'actual' }],
};

/**
 * Every value of the peer against the check's series with the same labels (counts exactly, the rest to 1e-9
 * of their size), and no series of those families that the peer has no value for; throws on the first
 * difference. Returns how many values were compared.
 */
export function compareSegments(samples: readonly Sample[], peer: Record<string, number>): number {
  const key = (name: string, labels: Record<string, string>) =>
    `${name}${JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)))}`;
  const families = new Set(Object.values(FAMILIES).map(([name]) => name));
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
    const [metric, window, column, value] = name.split('|') as [string, string, string, string];
    const [family, extra] = FAMILIES[metric] as [string, Record<string, string>];
    const k = key(family, { window, segment: column, segment_value: value, ...extra });
    const actual = got.get(k);
    const exact = metric.startsWith('n_');
    if (
      actual === undefined ||
      !(Math.abs(actual - expected) <= (exact ? 0 : 1e-9 * Math.max(1, Math.abs(expected))))
    )
      throw new Error(`segments: ${name} is ${actual} in the check, ${expected} in the peer`);
    got.delete(k);
    compared++;
  }
  if (got.size > 0) throw new Error(`segments: the check has series the peer has not: ${[...got.keys()][0]}`);
  return compared;
}
