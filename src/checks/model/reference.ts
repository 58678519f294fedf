import type { z } from 'zod';
import { quoteIdent, quoteQualified } from '../../sql/identifiers.js';
import { driftSpec } from '../dataset/drift.js';
import { type ModelContext, valueColumn } from './context.js';
import type { ReferenceSource } from './prediction-drift-sql.js';

/**
 * A model's `reference`: the same forms, and the same validation and messages, as a dataset drift check's
 * (`{window, offset}`, `{from, to}`, or `{table, timestamp?}` with an optional range), read from the
 * predictions table instead of the dataset's.
 */
export const modelReference = driftSpec.shape.reference;

export type ModelReference = z.output<typeof modelReference>;

/**
 * Where the reference values come from. `{window, offset}` and `{from, to}` range over the predictions table's
 * own timestamp; without an offset the reference ends where the model's WIDEST window starts, so it overlaps
 * none of the windows it is compared with. Another table is read whole (or, with its timestamp column, the
 * rows not in the future, or that range); its value column has the name of the model's score / prediction
 * column.
 */
export function referenceSource(m: ModelContext, r: ModelReference): ReferenceSource {
  const other = r.table !== undefined;
  const src: ReferenceSource = {
    tableSql: other ? quoteQualified(r.table as string) : m.predictions.tableSql,
    valueSql: valueColumn(m),
    timestampSql: other
      ? r.timestamp !== undefined
        ? quoteIdent(r.timestamp)
        : undefined
      : m.predictions.timestampSql,
  };
  if (r.window !== undefined) {
    const end = r.offset ?? (m.windows[0] as { ms: number }).ms;
    return { ...src, from: { agoMs: end + r.window.ms }, to: { agoMs: end } };
  }
  if (r.from !== undefined && r.to !== undefined) return { ...src, from: { at: r.from }, to: { at: r.to } };
  return src.timestampSql !== undefined ? { ...src, to: { agoMs: 0 } } : src;
}
