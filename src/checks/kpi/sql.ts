import { SqlBuilder, type Statement } from '../../sql/builder.js';
import { type Dialect, postgres } from '../../sql/dialect.js';
import type { Queryable, Row } from '../../warehouse/types.js';
import { toSampleValue, ValueError } from '../values.js';
import type { Measure, PeriodSpan } from './periods.js';

/**
 * The SQL KPI: the operator's statement, run once per window and period (the current one and each baseline
 * week) inside the check's one read-only transaction, with the period's start as $1 and end as $2
 * (timestamptz). The bounds are computed first, by the warehouse, in one statement: within the transaction
 * now() is fixed, so every period ends where the ratio form's would, and all of them see the same snapshot.
 * Optional columns: `volume` (rows behind the value) and `stddev` (the standard deviation of the per-row
 * quantity the value averages), which together give the KPI a standard error (baseline.ts).
 */

// UTC ISO 8601 text with microseconds: what now() holds, exactly, whatever the session's DateStyle.
const utc = (expr: string) => `to_char((${expr}) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/** Every period's start and end, columns s_<i> and e_<i>. */
export function boundsStatement(spans: readonly PeriodSpan[], dialect: Dialect = postgres): Statement {
  const p = new SqlBuilder(dialect);
  const at = (agoMs: number) => utc(p.ago(agoMs));
  const cols = spans.flatMap((s, i) => [`${at(s.startAgoMs)} AS s_${i}`, `${at(s.endAgoMs)} AS e_${i}`]);
  return p.statement(`SELECT ${cols.join(', ')}`);
}

const COLUMNS = ['value', 'volume', 'stddev'];

/** One row, one value column (or `value` with `volume` and `stddev`): anything else is the statement's mistake. */
function readRow(rows: Row[], span: PeriodSpan): Measure {
  if (rows.length === 0) return { span, value: null, volume: null, skippedBecause: 'null_value' };
  const period =
    span.weeksAgo === 0 ? 'current' : `${span.weeksAgo} week${span.weeksAgo > 1 ? 's' : ''} earlier`;
  if (rows.length > 1) {
    throw new ValueError(
      `the KPI statement returned ${rows.length} rows for window ${span.window.label} (${period}); it must return one row: aggregate it, e.g. SELECT avg(...)`,
    );
  }
  const row = rows[0] as Row;
  const columns = Object.keys(row);
  const single = columns.length === 1;
  if (!single && (columns.some((c) => !COLUMNS.includes(c)) || !columns.includes('value'))) {
    throw new ValueError(
      `the KPI statement returned columns ${columns.join(', ')}; return one column (the KPI), or columns named value and volume (and stddev, the spread of what value averages)`,
    );
  }
  if (columns.includes('stddev') && !columns.includes('volume')) {
    throw new ValueError(
      'the KPI statement returned stddev without volume; a spread gives a standard error only with the rows behind it: add count(*) AS volume',
    );
  }
  const value = toSampleValue(
    row[single ? (columns[0] as string) : 'value'],
    single ? (columns[0] as string) : 'value',
  );
  const finite = (c: string) => {
    const x = !single && c in row ? toSampleValue(row[c], c) : null;
    return x === null || Number.isNaN(x) ? null : x;
  };
  const volume = finite('volume');
  const stddev = finite('stddev');
  if (value === null) return { span, value: null, volume, stddev, skippedBecause: 'null_value' };
  if (Number.isNaN(value)) return { span, value: null, volume, stddev, skippedBecause: 'not_a_number' };
  return { span, value, volume, stddev };
}

export async function runSql(
  q: Queryable,
  userSql: string,
  bounds: Statement,
  spans: readonly PeriodSpan[],
): Promise<Measure[]> {
  const b = (await q.query(bounds.text, bounds.params))[0] as Row;
  const out: Measure[] = [];
  for (const [i, span] of spans.entries()) {
    out.push(readRow(await q.query(userSql, [b[`s_${i}`], b[`e_${i}`]]), span));
  }
  return out;
}
