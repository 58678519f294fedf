/**
 * The check kinds bench/peer-kinds.ts holds against the pandas peer, one entry each: the mlwatch config that
 * makes the check, what the peer pulls and computes (bench/pandas-peer.py), the series the check must export
 * for the peer's values, and the floors: statements on a plain connection doing only the part of the check's
 * work that no statement computing its values exactly can skip (reading the rows, the join, a sort).
 */
import { joinedCte, modelContext } from '../src/checks/model/context.js';
import type { Window } from '../src/config/types.js';
import { SqlBuilder } from '../src/sql/builder.js';
import { quoteIdent } from '../src/sql/identifiers.js';
import type { PeerRequest } from './pandas-peer.js';
import { DUPLICATED_IDS, JOB_WINDOWS_S, type Tables } from './peer-kinds-tables.js';
import type { Expected } from './series-compare.js';

/** A plain statement timed next to the check: its name in the report, the SQL and its parameters. */
export interface Floor {
  name: string;
  sql: string;
  params: unknown[];
}

export interface Kind {
  /** Its name in the report. */
  name: string;
  /** What the check computes, for the report. */
  what: string;
  checkId: string;
  /** The peer's request; the bench adds the URL and the session. */
  peer: PeerRequest;
  /** The series the check must export, from the peer's values. */
  expected(values: Record<string, number>): Expected[];
  /** The check's families and the label naming its subject: every such series must be expected. */
  families: string[];
  subject: Record<string, string>;
  floors: Floor[];
}

const DAY_MS = 86_400_000;
/** The model's windows: the default, each with its length in seconds for the peer. */
const MODEL_WINDOWS: Window[] = [
  { label: '1d', ms: DAY_MS },
  { label: '7d', ms: 7 * DAY_MS },
  { label: '14d', ms: 14 * DAY_MS },
];
const windowSeconds = (ws: readonly Window[]) => Object.fromEntries(ws.map((w) => [w.label, w.ms / 1000]));
const THRESHOLD = 0.5;
/** The multiclass model's classes, in `scores` order (its argmax's ties go to the first). */
const CLASSES = ['low', 'mid', 'high'];
const MAX_SEGMENTS = 10;
const SEGMENTS = ['channel', 'region'];

// Counts exactly; times to a microsecond (timestamps' resolution; the peer subtracts epoch seconds, whose
// float8 rounding is a few 1e-7 s at today's epoch); everything else to 1e-9 of its size.
const EXACT = { abs: 0 };
const MICROSECOND = { abs: 1e-6 };
const CLOSE = { rel: 1e-9 };

/** The config of every kind's check; interval 1h: after the start-up round a check runs only when asked. */
export function configBody(t: Tables): string {
  return `datasets:
  - name: events
    table: ${t.events}
    timestamp: ingested_at
    interval: 1h
    checks:
      duplicates: { key: [id], window: 1d }
models:
  - name: cls
    task: binary_classification
    owner: bench
    predictions: { table: ${t.predictions}, key: key, timestamp: predicted_at, score: score }
    labels: { table: ${t.labels}, key: key, timestamp: observed_at, label: defaulted }
    windows: [${MODEL_WINDOWS.map((w) => w.label).join(', ')}]
    threshold: ${THRESHOLD}
    segments: [${SEGMENTS.join(', ')}]
    max_segments: ${MAX_SEGMENTS}
    reference: { table: ${t.reference} }
    interval: 1h
  - name: mc
    task: multiclass_classification
    owner: bench
    predictions: { table: ${t.predictions}, key: key, timestamp: predicted_at, scores: { ${CLASSES.map((c) => `${c}: p_${c}`).join(', ')} } }
    labels: { table: ${t.labels}, key: key, timestamp: observed_at, label: tier }
    windows: [${MODEL_WINDOWS.map((w) => w.label).join(', ')}]
    interval: 1h
  - name: reg
    task: regression
    owner: bench
    predictions: { table: ${t.predictions}, key: key, timestamp: predicted_at, prediction: amount_pred }
    labels: { table: ${t.labels}, key: key, timestamp: observed_at, label: amount }
    windows: [${MODEL_WINDOWS.map((w) => w.label).join(', ')}]
    interval: 1h
jobs:
  - name: bench
    table: ${t.runs}
    job_column: job
    status_column: status
    started_column: started_at
    finished_column: finished_at
    interval: 1h
`;
}

/**
 * The check's own `joined` CTE (predictions of the widest window with the latest label of their key), built by
 * the code the checks use, so the peer pulls the same rows the check computes from and the floors do the same
 * join: the model bench's peer does the same.
 */
function joined(
  t: Tables,
  value: 'score' | 'amount_pred' | 'scores',
  label: 'defaulted' | 'amount' | 'tier',
  carry: string[] = [],
): { cte: string; params: unknown[] } {
  const b = new SqlBuilder();
  const task = {
    score: 'binary_classification',
    amount_pred: 'regression',
    scores: 'multiclass_classification',
  } as const;
  const m = modelContext(
    {
      name: 'bench',
      task: task[value],
      owner: 'bench',
      predictions: {
        table: t.predictions,
        key: 'key',
        timestamp: 'predicted_at',
        // A multiclass model reads its probabilities as `carry` columns (g0, g1, ... as text).
        ...(value === 'score' ? { score: value } : value === 'amount_pred' ? { prediction: value } : {}),
      },
      labels: { table: t.labels, key: 'key', timestamp: 'observed_at', label },
      windows: MODEL_WINDOWS,
      threshold: THRESHOLD,
    },
    { everyMs: 3_600_000 },
    600_000,
  );
  const cte = joinedCte(m, b, carry.map(quoteIdent));
  return { cte, params: b.params };
}

function duplicates(t: Tables): Kind {
  const window = `ingested_at >= now() - interval '1 day' AND ingested_at < now()`;
  return {
    name: 'duplicates',
    what: 'dataset duplicates, key [id], window 1d',
    checkId: 'dataset:events:duplicates',
    peer: {
      kind: 'duplicates',
      key: ['id'],
      sql: `SELECT id FROM ${t.events} WHERE ${window}`,
    },
    expected: (v) => {
      // The generator's own count as well: a peer and a check that agree on a wrong number would pass.
      if (v.duplicate_keys !== DUPLICATED_IDS)
        throw new Error(`the peer found ${v.duplicate_keys} duplicated ids, the table has ${DUPLICATED_IDS}`);
      return [
        {
          name: 'mlwatch_dataset_duplicate_keys',
          labels: { dataset: 'events', window: '1d' },
          value: v.duplicate_keys as number,
          tolerance: EXACT,
        },
      ];
    },
    families: ['mlwatch_dataset_duplicate_keys'],
    subject: { dataset: 'events' },
    floors: [
      { name: 'count(*) of the window', sql: `SELECT count(*) FROM ${t.events} WHERE ${window}`, params: [] },
      {
        // Telling repeated keys apart needs every key hashed or sorted; the sort measured the cheaper of the two
        // here (a hash table of 1,000,000 keys costs more than sorting them, in memory or not).
        name: 'the keys sorted, nothing counted',
        sql: `SELECT count(*) FROM (SELECT id FROM ${t.events} WHERE ${window} AND id IS NOT NULL ORDER BY id OFFSET 0) k`,
        params: [],
      },
    ],
  };
}

/** The peer's values keyed `metric|window|...`, as the check's series: (family, extra labels) per metric. */
function perWindow(
  v: Record<string, number>,
  subject: Record<string, string>,
  families: Record<string, [string, Record<string, string>, Expected['tolerance']]>,
  rest: (parts: string[]) => Record<string, string> = () => ({}),
): Expected[] {
  return Object.entries(v).map(([key, value]) => {
    const [metric, window, ...parts] = key.split('|');
    const family = families[metric as string];
    if (!family) throw new Error(`the peer returned ${key}, which no series of the check stands for`);
    const [name, extra, tolerance] = family;
    return {
      name,
      labels: { ...subject, window: window as string, ...rest(parts), ...extra },
      value,
      tolerance,
    };
  });
}

function regression(t: Tables): Kind {
  const j = joined(t, 'amount_pred', 'amount');
  const families = {
    mae: ['mlwatch_model_mae', {}, CLOSE],
    rmse: ['mlwatch_model_rmse', {}, CLOSE],
    mape: ['mlwatch_model_mape', {}, CLOSE],
    mape_excluded: ['mlwatch_model_mape_excluded_rows', {}, EXACT],
    bias: ['mlwatch_model_bias', {}, CLOSE],
    r2: ['mlwatch_model_r2', {}, CLOSE],
  } satisfies Record<string, [string, Record<string, string>, Expected['tolerance']]>;
  return {
    name: 'regression',
    what: 'regression performance (MAE, RMSE, MAPE, bias, R²), windows [1d, 7d, 14d]',
    checkId: 'model:reg:performance',
    peer: {
      kind: 'regression',
      windows: windowSeconds(MODEL_WINDOWS),
      sql: `WITH ${j.cte}
SELECT extract(epoch FROM pt)::float8 AS pt, s, y FROM joined WHERE y IS NOT NULL AND s IS NOT NULL`,
      params: j.params,
    },
    expected: (v) => perWindow(v, { model: 'reg' }, families),
    families: Object.values(families).map((f) => f[0]),
    subject: { model: 'reg' },
    floors: [
      { name: 'the joined rows alone', sql: `WITH ${j.cte}\nSELECT count(*) FROM joined`, params: j.params },
    ],
  };
}

function segments(t: Tables): Kind {
  const j = joined(t, 'score', 'defaulted', SEGMENTS);
  const families = {
    n_all: ['mlwatch_model_segment_predictions', {}, EXACT],
    n_lab: ['mlwatch_model_segment_labeled_predictions', {}, EXACT],
    auc: ['mlwatch_model_segment_auc', {}, CLOSE],
    accuracy: ['mlwatch_model_segment_accuracy', {}, CLOSE],
    rate_predicted: ['mlwatch_model_segment_positive_rate', { source: 'predicted' }, CLOSE],
    rate_actual: ['mlwatch_model_segment_positive_rate', { source: 'actual' }, CLOSE],
  } satisfies Record<string, [string, Record<string, string>, Expected['tolerance']]>;
  const slices = SEGMENTS.map((_, i) => `(${i}, j.g${i})`).join(', ');
  return {
    name: 'segments',
    what: `segments [${SEGMENTS.join(', ')}] of a classifier (AUC, accuracy, positive rates), windows [1d, 7d, 14d]`,
    checkId: 'model:cls:segments',
    peer: {
      kind: 'segments',
      windows: windowSeconds(MODEL_WINDOWS),
      columns: SEGMENTS,
      max_segments: MAX_SEGMENTS,
      threshold: THRESHOLD,
      sql: `WITH ${j.cte}
SELECT extract(epoch FROM pt)::float8 AS pt, s, y, ${SEGMENTS.map((c, i) => `g${i} AS ${c}`).join(', ')} FROM joined`,
      params: j.params,
    },
    expected: (v) =>
      perWindow(v, { model: 'cls' }, families, ([segment, value]) => ({
        segment: segment as string,
        segment_value: value as string,
      })),
    families: [...new Set(Object.values(families).map((f) => f[0]))],
    subject: { model: 'cls' },
    floors: [
      { name: 'the joined rows alone', sql: `WITH ${j.cte}\nSELECT count(*) FROM joined`, params: j.params },
      {
        // Exact AUC per segment needs each segment's scores in order: one sort of every (column, value, score).
        name: 'the joined rows, one per segment column, sorted by (column, value, score)',
        sql: `WITH ${j.cte}
SELECT count(*) FROM (
  SELECT c.si, c.val, j.s FROM joined j CROSS JOIN LATERAL (VALUES ${slices}) AS c(si, val) ORDER BY 1, 2, 3 OFFSET 0
) t`,
        params: j.params,
      },
    ],
  };
}

function multiclass(t: Tables): Kind {
  const j = joined(
    t,
    'scores',
    'tier',
    CLASSES.map((c) => `p_${c}`),
  );
  const families = {
    unknown: ['mlwatch_model_unknown_class_predictions', {}, EXACT],
    accuracy: ['mlwatch_model_multiclass_accuracy', {}, CLOSE],
    log_loss: ['mlwatch_model_multiclass_log_loss', {}, CLOSE],
    f1_macro: ['mlwatch_model_multiclass_f1', { average: 'macro' }, CLOSE],
    f1_weighted: ['mlwatch_model_multiclass_f1', { average: 'weighted' }, CLOSE],
    auc_macro: ['mlwatch_model_multiclass_auc', { average: 'macro' }, CLOSE],
    precision: ['mlwatch_model_class_precision', {}, CLOSE],
    recall: ['mlwatch_model_class_recall', {}, CLOSE],
    f1: ['mlwatch_model_class_f1', {}, CLOSE],
    support: ['mlwatch_model_class_support', {}, EXACT],
    auc: ['mlwatch_model_class_auc', {}, CLOSE],
  } satisfies Record<string, [string, Record<string, string>, Expected['tolerance']]>;
  return {
    name: 'multiclass',
    what: `multiclass performance, ${CLASSES.length} classes (accuracy, log loss, F1, per-class precision, recall, one-vs-rest AUC), windows [1d, 7d, 14d]`,
    checkId: 'model:mc:performance',
    peer: {
      kind: 'multiclass',
      windows: windowSeconds(MODEL_WINDOWS),
      classes: CLASSES,
      // The probabilities travel as text in the check's join (carry): read back as float8, exactly.
      sql: `WITH ${j.cte}
SELECT extract(epoch FROM pt)::float8 AS pt, ${CLASSES.map((c, i) => `g${i}::float8 AS ${c}`).join(', ')}, y FROM joined`,
      params: j.params,
    },
    expected: (v) =>
      perWindow(
        v,
        { model: 'mc' },
        families,
        ([cls]): Record<string, string> => (cls === undefined ? {} : { class: cls }),
      ),
    families: [...new Set(Object.values(families).map((f) => f[0]))],
    subject: { model: 'mc' },
    floors: [
      { name: 'the joined rows alone', sql: `WITH ${j.cte}\nSELECT count(*) FROM joined`, params: j.params },
      {
        // Each class's one-vs-rest AUC needs the predictions in order of that class's probability.
        name: 'the joined rows, once per class, sorted by (class, probability)',
        sql: `WITH ${j.cte}
SELECT count(*) FROM (
  SELECT c.ci, c.p FROM joined j CROSS JOIN LATERAL (VALUES ${CLASSES.map((_, i) => `(${i}, j.g${i}::float8)`).join(', ')}) AS c(ci, p)
  ORDER BY 1, 2 OFFSET 0
) t`,
        params: j.params,
      },
    ],
  };
}

function predictionDrift(t: Tables): Kind {
  const window = `predicted_at >= now() - interval '14 days' AND predicted_at < now()`;
  return {
    name: 'prediction drift',
    what: 'prediction drift (PSI of the scores against a cached 100,000-row reference), windows [1d, 7d, 14d]',
    checkId: 'model:cls:prediction_drift',
    peer: {
      kind: 'prediction_psi',
      windows: windowSeconds(MODEL_WINDOWS),
      sql: `SELECT extract(epoch FROM predicted_at)::float8 AS pt, score AS s FROM ${t.predictions} WHERE ${window}`,
      reference_sql: `SELECT score FROM ${t.reference}`,
    },
    expected: (v) =>
      perWindow(v, { model: 'cls' }, { psi: ['mlwatch_model_prediction_psi', {}, CLOSE] } as const),
    families: ['mlwatch_model_prediction_psi'],
    subject: { model: 'cls' },
    floors: [
      {
        name: 'count(*) of the window',
        sql: `SELECT count(*) FROM ${t.predictions} WHERE ${window}`,
        params: [],
      },
    ],
  };
}

function job(t: Tables): Kind {
  // The rows the check reads: runs started in the widest window, or ended in it, or still running.
  const rows = `job = 'bench' AND started_at < now()
  AND (started_at >= now() - interval '3 days' OR finished_at >= now() - interval '3 days' OR finished_at IS NULL)`;
  const labels = { job_name: 'bench' };
  return {
    name: 'job',
    what: 'job statement (runs by outcome and success ratio x 7 windows, last success, last and p95 duration)',
    checkId: 'job:bench',
    peer: {
      kind: 'job',
      windows: JOB_WINDOWS_S,
      success_values: ['success'],
      sql: `SELECT status, extract(epoch FROM started_at)::float8 AS s, extract(epoch FROM finished_at)::float8 AS f
FROM ${t.runs} WHERE ${rows}`,
    },
    expected: (v) =>
      Object.entries(v).map(([key, value]): Expected => {
        const [metric, window] = key.split('|') as [string, string | undefined];
        if (metric === 'success' || metric === 'failure' || metric === 'running')
          return {
            name: 'mlwatch_job_runs',
            labels: { ...labels, window: window as string, outcome: metric },
            value,
            tolerance: EXACT,
          };
        if (metric === 'ratio')
          return {
            name: 'mlwatch_job_success_ratio',
            labels: { ...labels, window: window as string },
            value,
            tolerance: CLOSE,
          };
        if (metric === 'in_progress')
          return { name: 'mlwatch_job_runs_in_progress', labels, value, tolerance: EXACT };
        if (metric === 'last_success')
          return {
            name: 'mlwatch_job_last_success_timestamp_seconds',
            labels,
            value,
            tolerance: MICROSECOND,
          };
        const stat = { last_duration: 'last', p95_duration: 'p95' }[metric];
        if (stat === undefined)
          throw new Error(`the peer returned ${key}, which no series of the check stands for`);
        return {
          name: 'mlwatch_job_duration_seconds',
          labels: { ...labels, stat },
          value,
          tolerance: MICROSECOND,
        };
      }),
    families: [
      'mlwatch_job_runs',
      'mlwatch_job_success_ratio',
      'mlwatch_job_runs_in_progress',
      'mlwatch_job_last_success_timestamp_seconds',
      'mlwatch_job_duration_seconds',
    ],
    subject: labels,
    floors: [
      {
        name: 'count(*) of the runs it reads',
        sql: `SELECT count(*) FROM ${t.runs} WHERE ${rows}`,
        params: [],
      },
      {
        // The one sort the statement cannot avoid (jobs-serving.ts's floor too).
        name: 'the p95 duration alone',
        sql: `SELECT percentile_cont(0.95) WITHIN GROUP (ORDER BY date_part('epoch', finished_at - started_at))
FROM ${t.runs} WHERE job = 'bench' AND finished_at >= now() - interval '1 day' AND finished_at < now()`,
        params: [],
      },
    ],
  };
}

export const kindsOf = (t: Tables): Kind[] => [
  duplicates(t),
  regression(t),
  segments(t),
  multiclass(t),
  predictionDrift(t),
  job(t),
];
