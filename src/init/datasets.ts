import type { CatalogTable } from './catalog.js';
import { DATASET_TIMES, isBoolean, isTimestamp, pickTimestamp, tableRef, timestamps } from './columns.js';
import { LABELS_TABLE } from './model-columns.js';
import { columnSql, type NameSet, subjectName } from './names.js';
import type { Proposed } from './types.js';

/**
 * The data layer and the business layer of a proposal. Every table with a timestamp that no model, job or
 * service reads is a dataset: freshness, rows per hour and null ratios, the checks any table can have. A
 * boolean column of such a table (approved, converted) is a KPI: the share of rows where it holds.
 */

// A proposal is a starting point to read through: past these, the rest is listed rather than written.
const MAX_DATASETS = 50;
const MAX_KPIS = 10;
// Null ratios are listed by name up to this many columns; a wider table watches `all` of them.
const MAX_NULL_COLUMNS = 20;
// A table with more booleans than this holds flags (features), not an outcome worth a KPI.
const MAX_KPI_COLUMNS_PER_TABLE = 3;

export interface ProposedDataset extends Proposed {
  table: CatalogTable;
}

export function proposeDatasets(tables: CatalogTable[], names: NameSet, notes: string[]): ProposedDataset[] {
  const watched = tables.filter((t) => timestamps(t).length > 0);
  if (watched.length > MAX_DATASETS) {
    notes.push(
      `${watched.length - MAX_DATASETS} more tables with a timestamp were left out (at most ${MAX_DATASETS} datasets); pick schemas with --schema`,
    );
  }
  return watched.slice(0, MAX_DATASETS).map((t) => {
    const ts = pickTimestamp(t, DATASET_TIMES) as string;
    const others = timestamps(t)
      .map((c) => c.name)
      .filter((n) => n !== ts);
    const nullable = t.columns
      .filter((c) => c.nullable && c.name !== ts && !isTimestamp(c))
      .map((c) => c.name);
    const ref = tableRef(t);
    return {
      table: t,
      tables: [t],
      entry: {
        name: names.take(subjectName(t.name, 'dataset')),
        table: ref,
        timestamp: ts,
        checks: {
          freshness: {},
          volume: { window: '1h' },
          ...(nullable.length > 0
            ? { nulls: { columns: nullable.length > MAX_NULL_COLUMNS ? 'all' : nullable, window: '1h' } }
            : {}),
        },
      },
      note: [
        `${ref}${t.view ? ' (a view)' : ''}: age of the newest row, rows in the last hour against the hour before${nullable.length > 0 ? ', null ratios of its nullable columns' : ''}.`,
        others.length > 0 ? `timestamp: ${ts} (also a timestamp: ${others.join(', ')}).` : '',
      ]
        .filter(Boolean)
        .join(' '),
    };
  });
}

export function proposeKpis(datasets: ProposedDataset[], names: NameSet, notes: string[]): Proposed[] {
  const all = datasets.flatMap((d) => {
    // A labels-like table's boolean is a model's label (outcomes.defaulted), which the model layer watches.
    if (LABELS_TABLE.test(d.table.name)) return [];
    // A numerator may not hold `$1` (the check's own parameters): such a column name is left to the user.
    const flags = d.table.columns.filter((c) => isBoolean(c) && !/\$\d/.test(c.name));
    if (flags.length === 0 || flags.length > MAX_KPI_COLUMNS_PER_TABLE) return [];
    const ts = d.entry.timestamp as string;
    const ref = tableRef(d.table);
    return flags.map((c) => ({
      tables: [d.table],
      entry: {
        name: names.take(subjectName(`${d.table.name}_${c.name}_rate`, 'kpi')),
        ratio: { table: ref, timestamp: ts, numerator: columnSql(c.name) },
      },
      note: `Share of the rows of ${ref} where ${c.name} is true, per window (30m to 1d), against the median of the same window in the last 4 weeks.`,
    }));
  });
  if (all.length > MAX_KPIS)
    notes.push(
      `${all.length - MAX_KPIS} more boolean columns could be KPIs; at most ${MAX_KPIS} were proposed`,
    );
  return all.slice(0, MAX_KPIS);
}
