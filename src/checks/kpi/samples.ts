import { ResultBuilder } from '../result.js';
import type { CheckResult } from '../types.js';
import type { WindowKpi } from './baseline.js';
import { kpiFamilies } from './families.js';

/**
 * Windows to series. An undefined KPI or baseline (a ratio over no rows, a NULL or NaN result, no baseline
 * week with a value) exports no series and is counted in mlwatch_check_skipped_samples instead: never NaN,
 * never a made-up 0. The volume is exported whenever it is known, 0 included, so a dashboard can say why
 * nothing is alerted; the standard error whenever it is defined (baseline.ts).
 */
export function kpiSamples(
  kpi: string,
  dataset: string | undefined,
  windows: readonly WindowKpi[],
): CheckResult {
  // The info series always exists, so a rule can join `dataset` onto every KPI alert (absent: no dataset).
  const r = new ResultBuilder();
  r.add(kpiFamilies.kpiInfo.name, dataset ? { kpi, dataset } : { kpi }, 1);
  for (const w of windows) {
    const labels = { kpi, window: w.window.label };
    if (w.value !== null) r.add(kpiFamilies.kpiValue.name, labels, w.value);
    if (w.baseline !== null) r.add(kpiFamilies.kpiBaseline.name, labels, w.baseline);
    if (w.volume !== null) r.add(kpiFamilies.kpiVolume.name, { ...labels, period: 'current' }, w.volume);
    if (w.baselineVolume !== null)
      r.add(kpiFamilies.kpiVolume.name, { ...labels, period: 'baseline' }, w.baselineVolume);
    if (w.standardError !== null) r.add(kpiFamilies.kpiStandardError.name, labels, w.standardError);
    for (const reason of w.skipped) r.skip(reason);
  }
  return r.result();
}
