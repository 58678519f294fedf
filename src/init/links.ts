import type { CatalogTable } from './catalog.js';
import type { ProposedDataset } from './datasets.js';

/**
 * Which dataset a model scores or a KPI counts, from the key: predictions keyed by `application_id` are about
 * the rows of an `applications` table with an `id`. Linked, a stale dataset silences the model's and the KPI's
 * alerts (their cause is upstream). Only an unambiguous match links; a guess would silence the wrong alerts.
 */
export function datasetOf(
  key: string,
  datasets: ProposedDataset[],
  except?: CatalogTable,
): string | undefined {
  const base = /^(.+)_id$/i.exec(key)?.[1]?.toLowerCase();
  if (base === undefined) return undefined;
  const forms = new Set([base, `${base}s`, `${base}es`, base.replace(/y$/, 'ies')]);
  const hits = datasets.filter(
    (d) =>
      d.table !== except &&
      forms.has(d.table.name.toLowerCase()) &&
      d.table.columns.some((c) => c.name.toLowerCase() === 'id'),
  );
  return hits.length === 1 ? (hits[0]?.entry.name as string) : undefined;
}

/** The key columns (`*_id`) of a table, for linking a KPI's table to the dataset it counts. */
export const idColumns = (t: CatalogTable) => t.columns.map((c) => c.name).filter((n) => /_id$/i.test(n));
