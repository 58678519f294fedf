import type { Sample } from '../../metrics/types.js';
import type { State } from '../buckets/state.js';
import type { DatasetContext } from './context.js';
import { datasetFamilies } from './families.js';

/**
 * When the check last counted in full, and when the kept counts last equalled a full count: one series each per
 * check that keeps counts. The second behind the first says the last full count disagreed. With them, how many
 * buckets the check keeps.
 */
export function reconciledAt(check: string, ds: DatasetContext, state: State): Sample[] {
  const at = (us: number | undefined, name: string): Sample[] =>
    us === undefined ? [] : [{ name, labels: { dataset: ds.name, check }, value: us / 1e6 }];
  return [
    ...at(state.full?.atUs, datasetFamilies.datasetRecomputed.name),
    ...at(state.reconciledUs, datasetFamilies.datasetReconciled.name),
    {
      name: datasetFamilies.datasetKeptBuckets.name,
      labels: { dataset: ds.name, check },
      value: state.buckets.size,
    },
  ];
}
