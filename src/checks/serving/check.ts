import type { Schedule } from '../../config/types.js';
import type { Dialect } from '../../sql/dialect.js';
import type { Row } from '../../warehouse/types.js';
import { defineCheck } from '../define.js';
import { ResultBuilder } from '../result.js';
import type { Check, CheckResult } from '../types.js';
import { toSampleValue } from '../values.js';
import { servingFamilies } from './families.js';
import type { ServingEntry } from './section.js';
import { PERCENTILES, type ServingStatement, servingStatement } from './statement.js';

/**
 * The check of one service (`serving:<name>`): one statement, its single row turned into series. Counts are
 * exported for every window, 0 included; percentiles and the slow ratio only when the window holds a
 * request with a latency (else counted in mlwatch_check_skipped_samples as empty_window), never NaN.
 */
export function buildServingCheck(
  s: ServingEntry,
  schedule: Schedule,
  timeoutMs: number,
  dialect: Dialect,
): Check {
  const st = servingStatement(s, dialect);
  return defineCheck({
    id: `serving:${s.name}`,
    kind: 'serving',
    schedule,
    timeoutMs,
    definition: [st.text, st.params],
    async run(q) {
      const [row] = await q.query(st.text, st.params);
      return toResult(s.name, s.objective / 1000, st, row ?? {});
    },
  });
}

// The service is labelled `service_name`, not `service`: a ServiceMonitor sets `service` to the Kubernetes Service
// on every series it scrapes (ours would become `exported_service`), as Prometheus sets `job` (see job/check.ts).
function toResult(serviceName: string, objective: number, st: ServingStatement, row: Row): CheckResult {
  const r = new ResultBuilder();
  const num = (col: string) => toSampleValue(row[col], col);
  r.add(servingFamilies.servingLatencyObjective.name, { service_name: serviceName }, objective);
  st.windows.forEach((w, i) => {
    const labels = { service_name: serviceName, window: w.label };
    r.add(servingFamilies.servingRequests.name, labels, num(`requests_${i}`) ?? 0);
    if (st.hasStatus) r.add(servingFamilies.servingErrors.name, labels, num(`errors_${i}`) ?? 0);
    const timed = num(`timed_${i}`) ?? 0;
    if (timed === 0) {
      r.skip('empty_window');
      return;
    }
    r.add(servingFamilies.servingSlowRatio.name, labels, (num(`slow_${i}`) ?? 0) / timed);
    for (const [percentile] of PERCENTILES) {
      const v = num(`p${percentile}_${i}`);
      if (v === null) r.skip('empty_window');
      else r.add(servingFamilies.servingLatency.name, { ...labels, percentile }, v);
    }
  });
  return r.result();
}
