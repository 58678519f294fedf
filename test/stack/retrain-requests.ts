import type { RetrainRequest } from '../../src/actions/retrain/retrain.js';
import { waitFor } from '../helpers/wait.js';
import type { Stack } from './stack.js';

/**
 * The model's retraining requests that came from alerts, once every one of them was dispatched to the model's
 * retrain webhook (the monthly cadence's requests, should the test run at its minute, are left out).
 */
export function dispatchedAlertRequests(s: Stack, model: string): Promise<RetrainRequest[]> {
  return waitFor(
    async () => {
      const r = await s.get(`/api/v1/retrain/requests?model=${encodeURIComponent(model)}`);
      if (r.status !== 200) throw new Error(`retrain requests: ${r.status} ${r.text}`);
      const all = (JSON.parse(r.text) as { requests: RetrainRequest[] }).requests;
      const fromAlerts = all.filter((x) => x.reason === 'alert');
      return fromAlerts.length > 0 && fromAlerts.every((x) => x.state === 'dispatched')
        ? fromAlerts
        : undefined;
    },
    60_000,
    'retrain request dispatched',
  );
}
