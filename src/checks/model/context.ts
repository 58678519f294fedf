import type { Schedule, Window } from '../../config/types.js';
import type { SqlBuilder } from '../../sql/builder.js';
import { type Dialect, postgres } from '../../sql/dialect.js';
import { quoteIdent, quoteQualified } from '../../sql/identifiers.js';
import { defineCheck } from '../define.js';
import type { Check } from '../types.js';
import type { ModelTaskName } from './tasks.js';

/** What every model check kind knows about its model, with identifiers quoted for SQL. */
export interface ModelContext {
  name: string;
  task: ModelTaskName;
  owner: string;
  /** The dataset the model's features come from, exported on mlwatch_model_info; absent when not configured. */
  dataset?: string;
  /** Largest first: the statement scans the widest window once and flags the narrower ones. */
  windows: Window[];
  threshold: number;
  predictions: {
    tableSql: string;
    keySql: string;
    timestampSql: string;
    /** The score (binary classification) or predicted value (regression) column; a multiclass model has none. */
    valueSql?: string;
    versionSql?: string;
  };
  labels: { tableSql: string; keySql: string; timestampSql: string; labelSql: string };
  schedule: Schedule;
  timeoutMs: number;
  /** The warehouse's dialect, handed to every statement builder of the model's kinds. */
  dialect: Dialect;
}

export interface ModelEntryShape {
  name: string;
  task: ModelTaskName;
  owner: string;
  predictions: {
    table: string;
    key: string;
    timestamp: string;
    score?: string | undefined;
    prediction?: string | undefined;
    version?: string | undefined;
  };
  labels: { table: string; key: string; timestamp: string; label: string };
  windows: Window[];
  /** Binary classification's decision threshold; default 0.5. */
  threshold?: number | undefined;
  dataset?: string | undefined;
}

export function modelContext(
  m: ModelEntryShape,
  schedule: Schedule,
  timeoutMs: number,
  dialect: Dialect = postgres,
): ModelContext {
  // A model gives one of them at most (tasks.ts, checkTask); a multiclass model neither.
  const value = m.predictions.score ?? m.predictions.prediction;
  return {
    name: m.name,
    task: m.task,
    owner: m.owner,
    ...(m.dataset ? { dataset: m.dataset } : {}),
    windows: [...m.windows].sort((a, b) => b.ms - a.ms),
    threshold: m.threshold ?? 0.5,
    predictions: {
      tableSql: quoteQualified(m.predictions.table),
      keySql: quoteIdent(m.predictions.key),
      timestampSql: quoteIdent(m.predictions.timestamp),
      ...(value !== undefined ? { valueSql: quoteIdent(value) } : {}),
      ...(m.predictions.version ? { versionSql: quoteIdent(m.predictions.version) } : {}),
    },
    labels: {
      tableSql: quoteQualified(m.labels.table),
      keySql: quoteIdent(m.labels.key),
      timestampSql: quoteIdent(m.labels.timestamp),
      labelSql: quoteIdent(m.labels.label),
    },
    schedule,
    timeoutMs,
    dialect,
  };
}

/**
 * The score or predicted-value column, for the kinds that read one value per prediction (prediction drift, the
 * reference errors). A multiclass model has none: its config refuses `reference` and `segments`.
 */
export function valueColumn(m: ModelContext): string {
  if (m.predictions.valueSql === undefined) {
    throw new Error(`model ${m.name}: a ${m.task} model has no single score or prediction column`);
  }
  return m.predictions.valueSql;
}

/** The Check of a model kind: id `model:<name>:<part>`, the model's schedule, a fingerprint of its definition. */
export function modelCheck(m: ModelContext, part: string, spec: unknown, run: Check['run']): Check {
  return defineCheck({
    id: `model:${m.name}:${part}`,
    kind: `model_${part}`,
    schedule: m.schedule,
    timeoutMs: m.timeoutMs,
    definition: [m, spec],
    run,
  });
}

/**
 * The rows every model metric starts from, as a CTE named `joined`: the predictions of the widest window,
 * each with the LATEST label of its key (latestLabelJoin; NULL when there is none yet), and one boolean
 * column per window (`w0` = widest ... ) saying whether the prediction falls in it. Columns:
 * k (key), pt (prediction time), s (score or predicted value, float8; NULL for a multiclass model, whose
 * statement reads its class columns itself), v (version text or NULL), w0..wN, g0..gK (the `carry` columns of
 * the predictions table, quoted identifiers, as text, for checks that slice by them: segments), lt (label
 * time) and y (the label as its task reads it: LABEL_AS).
 * Windows are [now() - w, now()) on the warehouse clock, their lengths bound through `b`. A flag compares
 * with a cutoff computed once per statement, not per row; the scan's own range keeps the plain expression,
 * which the planner can estimate.
 */
export function joinedCte(m: ModelContext, b: SqlBuilder, carry: string[] = []): string {
  const p = m.predictions;
  const s = p.valueSql ? `p.${p.valueSql}::float8` : 'NULL::float8';
  const v = p.versionSql ? `p.${p.versionSql}::text` : 'NULL::text';
  const g = carry.map((c) => `p.${c}::text`);
  const flags = m.windows.map((w, i) => `p.${p.timestampSql} >= ${b.cutoff(w.ms)} AS w${i}`);
  const widest = (m.windows[0] as Window).ms;
  return latestLabelJoin(m, {
    name: 'joined',
    columns: [`p.${p.keySql} AS k`, `p.${p.timestampSql} AS pt`, `${s} AS s`, `${v} AS v`, ...flags]
      .concat(g.map((e, i) => `${e} AS g${i}`))
      .join(', '),
    identity: [s, v, ...g],
    where: `p.${p.timestampSql} >= ${b.ago(widest)} AND p.${p.timestampSql} < ${b.dialect.now}`,
  });
}

/**
 * A CTE of the predictions table's rows matching `where` (the table is `p`), with `columns` and the LATEST label
 * of each row's key as lt (label time) and y (LABEL_AS): among the label rows of the key, the one with the
 * latest label timestamp, the larger label on a tie (as PostgreSQL sorts DESC: a NULL label, which is no
 * label, wins its tie, and a NULL timestamp wins over any). Every model statement joins labels through here,
 * so they all read the same label.
 *
 * One prediction is one row of the table, told apart by its key, timestamp and `identity` (every other
 * column the statement reads; `columns` are functions of them): rows equal in all of them are the same
 * prediction written twice and count once. Each dialect writes the shape its engine runs fastest
 * (Dialect.latestLabel: DISTINCT ON after the join on PostgreSQL, a GROUP BY with arg_max on DuckDB).
 */
export function latestLabelJoin(
  m: ModelContext,
  q: {
    name: string;
    columns: string;
    identity: string[];
    where: string;
    /** Which label rows count (the labels table is `lab`): all of them unless given. */
    labelsWhere?: string;
  },
): string {
  const p = m.predictions;
  const l = m.labels;
  return m.dialect.latestLabel({
    name: q.name,
    columns: q.columns,
    // A constant (NULL::text for a model without versions) tells no rows apart; grouped by anyway, it cost DuckDB
    // a hashed column per row.
    prediction: [
      `p.${p.keySql}`,
      `p.${p.timestampSql}`,
      ...q.identity.filter((e) => !e.startsWith('NULL::')),
    ],
    from: `${p.tableSql} p LEFT JOIN ${l.tableSql} lab ON lab.${l.keySql} = p.${p.keySql}${q.labelsWhere ? ` AND ${q.labelsWhere}` : ''}`,
    where: q.where,
    lt: `lab.${l.timestampSql}`,
    y: LABEL_AS[m.task](`lab.${l.labelSql}`),
    binary: m.task === 'binary_classification',
  });
}

/**
 * How each task reads its label column (`lab.<column>`) as `y`: a number (regression), 1/0 via text to boolean
 * (binary classification: booleans, 0/1 integers and their text all work), the class name as text (multiclass).
 */
const LABEL_AS: Record<ModelTaskName, (label: string) => string> = {
  binary_classification: (label) => `(${label}::text::boolean)::int::float8`,
  regression: (label) => `${label}::float8`,
  multiclass_classification: (label) => `${label}::text`,
};
