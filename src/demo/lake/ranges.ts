/**
 * Which rows each Parquet file of the demo's lake holds: a file is a time range (lo, hi] of its table's time
 * column, and a table's ranges are contiguous from the first file (open below) to the last, so every row up to
 * the last `hi` belongs to exactly one file. That is what lets an incident that rewrites old rows rewrite only
 * the files those rows fall in, and a new batch add a file without reading the others.
 *
 * Three kinds of file, named so a listing reads in time order within each kind:
 * - day-2026-11-01.parquet: the seeded history, one file per UTC day that has rows;
 * - batch-20261206T101530123Z.parquet: one live batch, named after its end;
 * - hour-2026-12-06T10.parquet: the batches of a closed hour merged into one (compaction), so a demo left
 *   running reads tens of files rather than one per batch (3,000 small files cost a query about 0.3 s here).
 */

export interface FileRange {
  kind: 'day' | 'batch' | 'hour';
  /** The file's name in its table's folder. */
  file: string;
  /** Exclusive; undefined for the first file, which holds everything up to its `hi`. */
  lo: Date | undefined;
  /** Inclusive. */
  hi: Date;
}

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/** 2026-12-06T10:15:30.123Z -> 20261206T101530123Z: sortable, and no ':' in a file name. */
const compact = (d: Date) => d.toISOString().replace(/[-:.]/g, '');

/**
 * The history's files: one per UTC day in `days` (epoch days that have rows, ascending), the first open below
 * and the last ending at `until`, so the days without rows are covered by the next file that has some. A table
 * without rows still gets one (empty) file: DuckDB binds a view over a glob to its first file's columns.
 */
export function dayRanges(days: readonly number[], until: Date): FileRange[] {
  if (days.length === 0)
    return [{ kind: 'day', file: `day-${dayName(until)}.parquet`, lo: undefined, hi: until }];
  let lo: Date | undefined;
  return days.map((day, i) => {
    const hi = i === days.length - 1 ? until : new Date((day + 1) * DAY_MS);
    const range: FileRange = { kind: 'day', file: `day-${dayName(new Date(day * DAY_MS))}.parquet`, lo, hi };
    lo = hi;
    return range;
  });
}

const dayName = (d: Date) => d.toISOString().slice(0, 10);

export function batchRange(lo: Date | undefined, hi: Date): FileRange {
  return { kind: 'batch', file: `batch-${compact(hi)}.parquet`, lo, hi };
}

/** The hour a range's rows end in: a range ending exactly on the hour belongs to the hour before. */
const hourOf = (r: FileRange) => Math.floor((r.hi.getTime() - 1) / HOUR_MS);

/**
 * The batch files to merge once their hour has closed (before the hour of `now`): consecutive batch files ending
 * in the same hour, two or more of them, each group with the hour file that replaces it.
 */
export function hourGroups(
  ranges: readonly FileRange[],
  now: Date,
): { merged: FileRange; members: FileRange[] }[] {
  const current = Math.floor((now.getTime() - 1) / HOUR_MS);
  const groups = new Map<number, FileRange[]>();
  for (const r of ranges) {
    if (r.kind !== 'batch' || hourOf(r) >= current) continue;
    groups.set(hourOf(r), [...(groups.get(hourOf(r)) ?? []), r]);
  }
  return [...groups.entries()]
    .filter(([, members]) => members.length > 1)
    .map(([hour, members]) => {
      const name = new Date(hour * HOUR_MS).toISOString().slice(0, 13);
      const first = members[0] as FileRange;
      const last = members[members.length - 1] as FileRange;
      return { merged: { kind: 'hour', file: `hour-${name}.parquet`, lo: first.lo, hi: last.hi }, members };
    });
}

/** A timestamp as a DuckDB or PostgreSQL literal: from a Date, so never from input. */
export const stamp = (d: Date) => `'${d.toISOString()}'::TIMESTAMPTZ`;

/** The SQL condition "`column` is in (lo, hi]"; `column` is already quoted. */
export function inRange(column: string, lo: Date | undefined, hi: Date): string {
  return `${lo === undefined ? '' : `${column} > ${stamp(lo)} AND `}${column} <= ${stamp(hi)}`;
}
