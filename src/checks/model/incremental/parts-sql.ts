import { SqlBuilder, type Statement } from '../../../sql/builder.js';
import { partsSql } from '../../buckets/cuts-sql.js';
import type { Part } from '../../buckets/plan.js';
import { latestLabelJoin, type ModelContext } from '../context.js';
import type { IncrementalTask } from './task.js';

/**
 * The statements of the incremental check (check.ts). Both read predictions with their latest label exactly as
 * the full statement does (latestLabelJoin, the same identity), so a part's sums are the sums the full
 * statement would take over the same rows. What is summed is the task's (IncrementalTask.sums), about the
 * offset `shift` where the task keeps one (0 where it does not).
 */

/** What the statements need of the check: its model, its task and the offset its sums are kept about. */
export interface Summing {
  m: ModelContext;
  task: IncrementalTask<unknown>;
  shift: number;
}

/** A point in time in ms, bound as a timestamp. */
function at(b: SqlBuilder, ms: number): string {
  return b.add(new Date(ms).toISOString(), 'timestamptz');
}

/**
 * What the joined rows carry of each prediction (the task's predicted columns and the version) and the identity
 * latestLabelJoin tells rows apart by.
 */
function predictionColumns(
  m: ModelContext,
  task: IncrementalTask<unknown>,
): { columns: string; identity: string[] } {
  const p = m.predictions;
  const v = p.versionSql ? `p.${p.versionSql}::text` : 'NULL::text';
  return {
    columns: [...task.predicted.map(([e, name]) => `${e} AS ${name}`), `${v} AS v`].join(', '),
    identity: [...task.predicted.map(([e]) => e), v],
  };
}

/** The names the joined rows carry the task's predicted columns by. */
const predictedNames = (task: IncrementalTask<unknown>) => task.predicted.map(([, name]) => name).join(', ');

/** A statement of the incremental check, with the most rows it may return (IncrementalTask.rowCap) if bounded. */
export interface CappedStatement extends Statement {
  cap?: number;
}

/**
 * A statement whose rows over `parts` parts or buckets stop one past the task's cap (IncrementalTask.rowCap), so a
 * column with more values than can be kept costs the check one row too many, not every value.
 */
function capped(b: SqlBuilder, s: Summing, parts: number, text: string): CappedStatement {
  const cap = s.task.rowCap?.(parts);
  if (cap === undefined) return b.statement(text);
  return { ...b.statement(`${text}\nLIMIT ${Math.floor(cap) + 1}`), cap: Math.floor(cap) };
}

/** The bin and the sums every part, bucket and state is reduced to, over the task's rows (IncrementalTask.rows). */
function sumColumns(b: SqlBuilder, s: Summing): string {
  const sums = s.task.sums(b, s.shift).map(([name, expr]) => `${expr} AS ${name}`);
  return `${s.task.bin} AS b,
       ${sums.join(',\n       ')}`;
}

/**
 * The sums of every part in `parts` (disjoint), one row per (part, version, bin): columns part (the index of the
 * part in `parts`, 0-based), v, b (the task's bin: NULL for rows that count in no metric but still say the
 * version is there) and the task's sums. The rows are read where the parts are (an OR of their ranges,
 * adjacent parts merged) and each is placed by width_bucket over the parts' sorted starts. With `labelsBeforeMs`,
 * only labels stamped before it count (the state kept buckets are summed in: check.ts).
 */
export function partsStatement(
  sum: Summing,
  parts: readonly Part[],
  bucketMs: number,
  labelsBeforeMs?: number,
): CappedStatement {
  const m = sum.m;
  const b = new SqlBuilder(m.dialect);
  const ts = `p.${m.predictions.timestampSql}`;
  const placed = partsSql(b, ts, parts, bucketMs);
  const read = predictionColumns(m, sum.task);
  const cte = latestLabelJoin(m, {
    name: 'joined',
    columns: `${placed.slot} AS slot, ${read.columns}`,
    identity: read.identity,
    where: placed.where,
    ...(labelsBeforeMs === undefined
      ? {}
      : { labelsWhere: `lab.${m.labels.timestampSql} < ${at(b, labelsBeforeMs)}` }),
  });
  return capped(
    b,
    sum,
    parts.length,
    `WITH ${cte}
SELECT ${placed.part('slot')} AS part, v, ${sumColumns(b, sum)}
FROM (${sum.task.rows(b, 'joined', ['slot', 'v'])}) r
GROUP BY slot, v, 3`,
  );
}

/**
 * What labels stamped since `sinceMs` changed in the complete buckets `buckets` (indexes first..end - 1): over the
 * predictions of those buckets whose key got such a label, their sums in up to three states, one row per (state,
 * bucket, version, bin): `before` with the labels stamped before `beforeMs` (omitted when not given), `kept` with
 * those stamped before `keptMs`, `all` with every label. check.ts moves a kept bucket from `before` to `kept` by
 * adding the difference, and adds `all` less `kept` for this run only: labels younger than the settle period.
 */
export function relabeledStatement(
  sum: Summing,
  buckets: { first: number; end: number },
  bucketMs: number,
  labelsMs: { sinceMs: number; beforeMs?: number; keptMs: number },
): CappedStatement {
  const m = sum.m;
  const b = new SqlBuilder(m.dialect);
  const p = m.predictions;
  const l = m.labels;
  const ts = `p.${p.timestampSql}`;
  const bounds: string[] = [];
  for (let k = buckets.first; k < buckets.end; k++) bounds.push(new Date(k * bucketMs).toISOString());
  const starts = b.add(bounds, 'timestamptz[]');
  const where = `${ts} >= ${at(b, buckets.first * bucketMs)} AND ${ts} < ${at(b, buckets.end * bucketMs)}
    AND p.${p.keySql} IN (SELECT ${l.keySql} FROM ${l.tableSql} WHERE ${l.timestampSql} >= ${at(b, labelsMs.sinceMs)})`;
  const read = predictionColumns(m, sum.task);
  const columns = `${b.dialect.widthBucket(ts, starts)} - 1 + ${buckets.first} AS bucket, ${read.columns}`;
  const states: Array<[string, number | undefined]> = [
    ...(labelsMs.beforeMs === undefined ? [] : ([['before', labelsMs.beforeMs]] as Array<[string, number]>)),
    ['kept', labelsMs.keptMs],
    ['all', undefined],
  ];
  const ctes = states.map(([state, beforeMs]) =>
    latestLabelJoin(m, {
      name: `j_${state}`,
      columns,
      identity: read.identity,
      where,
      ...(beforeMs === undefined ? {} : { labelsWhere: `lab.${l.timestampSql} < ${at(b, beforeMs)}` }),
    }),
  );
  const union = states
    .map(
      ([state]) =>
        `SELECT '${state}' AS state, bucket, v, ${predictedNames(sum.task)}, y, lt FROM j_${state}`,
    )
    .join('\n  UNION ALL ');
  return capped(
    b,
    sum,
    states.length * (buckets.end - buckets.first),
    `WITH ${ctes.join(',\n')}
SELECT state, bucket, v, ${sumColumns(b, sum)}
FROM (${sum.task.rows(b, `(\n  ${union}\n) AS u`, ['state', 'bucket', 'v'])}) r
GROUP BY state, bucket, v, 4`,
  );
}
