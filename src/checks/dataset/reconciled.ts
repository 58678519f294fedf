import type { Sample } from '../../metrics/types.js';
import type { State } from '../buckets/state.js';
import type { DatasetContext } from './context.js';
import { datasetFamilies } from './families.js';

/** When the kept counts last equalled a full recomputation: one series per check that keeps counts. */
export function reconciledAt(check: string, ds: DatasetContext, state: State): Sample[] {
  if (state.reconciledUs === undefined) return [];
  return [
    {
      name: datasetFamilies.datasetReconciled.name,
      labels: { dataset: ds.name, check },
      value: state.reconciledUs / 1e6,
    },
  ];
}
