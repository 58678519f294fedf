import { catalog } from '../../metrics/catalog.js';
import { ResultBuilder } from '../result.js';
import type { CheckResult } from '../types.js';
import type { Measure } from './periods.js';

/**
 * Measures to series. An undefined KPI (a ratio over no rows, a NULL or NaN result) exports no value series
 * and is counted in mlwatch_check_skipped_samples instead: never NaN, never a made-up 0. The volume is
 * exported whenever it is known, 0 included, so the minimum-volume guard can say why nothing is alerted.
 */
export function kpiSamples(kpi: string, dataset: string | undefined, measures: Measure[]): CheckResult {
  // The info series always exists, so a rule can join `dataset` onto every KPI alert (absent: no dataset).
  const r = new ResultBuilder();
  r.add(catalog.kpiInfo.name, dataset ? { kpi, dataset } : { kpi }, 1);
  for (const m of measures) {
    const window = m.span.window.label;
    if (m.volume !== null) r.add(catalog.kpiVolume.name, { kpi, window, period: m.span.period }, m.volume);
    if (m.value !== null) {
      const name = m.span.period === 'current' ? catalog.kpiValue.name : catalog.kpiBaseline.name;
      r.add(name, { kpi, window }, m.value);
    } else {
      r.skip(m.skippedBecause ?? 'null_value');
    }
  }
  return r.result();
}
