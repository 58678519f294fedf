import { z } from 'zod';
import { window } from '../../config/types.js';
import { SqlBuilder } from '../../sql/builder.js';
import { quoteIdent } from '../../sql/identifiers.js';
import type { Check } from '../types.js';
import { toSampleValue } from '../values.js';
import { type DatasetContext, datasetCheck } from './context.js';
import { datasetFamilies } from './families.js';

/**
 * Key values that occur more than once in the window. Rows with a NULL in any key column are left out, as a
 * UNIQUE constraint would: NULL is not equal to NULL.
 */
export const duplicatesSpec = z.strictObject({
  key: z.array(z.string().min(1), { error: 'expected a list of key column names' }).min(1),
  window: window().default({ label: '1h', ms: 3_600_000 }),
});

export function buildDuplicatesCheck(ds: DatasetContext, spec: z.output<typeof duplicatesSpec>): Check {
  const keys = spec.key.map(quoteIdent);
  const t = ds.timestampSql;
  const p = new SqlBuilder(ds.dialect);
  const rows = `SELECT ${keys.join(', ')} FROM ${ds.tableSql}
  WHERE ${t} >= ${p.ago(spec.window.ms)} AND ${t} < ${ds.dialect.now} AND ${keys.map((k) => `${k} IS NOT NULL`).join(' AND ')}`;
  // Every key of the window is grouped; the dialect feeds the GROUP BY the way its engine groups fastest.
  const st = p.statement(`SELECT count(*) AS duplicate_keys FROM (
  SELECT 1 FROM ${ds.dialect.groupable(rows, keys.join(', '))} w
  GROUP BY ${keys.join(', ')} HAVING count(*) > 1
) d`);
  return datasetCheck(ds, 'duplicates', spec, async (q) => {
    const [row] = await q.query(st.text, st.params);
    const value = toSampleValue(row?.duplicate_keys, 'duplicate_keys') ?? 0;
    return {
      samples: [
        {
          name: datasetFamilies.datasetDuplicateKeys.name,
          labels: { dataset: ds.name, window: spec.window.label },
          value,
        },
      ],
      skipped: {},
    };
  });
}
