import { expect } from 'vitest';
import type { Incident } from '../../src/demo/incidents.js';
import { waitFor } from '../helpers/wait.js';
import { type Stack, settle } from './stack.js';

export interface ExpectedAlert {
  labels: Record<string, string>;
  /** Exactly the receivers the firing alert reaches. */
  receivers: string[];
  /** Receivers of its resolution, when they differ (retraining gets firing alerts only). */
  resolvedTo?: string[];
}

/**
 * Switches a demo incident on in the live stack, asserts each alert reaches exactly its receivers, switches it
 * off and asserts each resolution does too. Records ms from switch to first webhook in `timings`. `whileFiring`
 * runs once the alerts have reached their receivers and before the incident ends (what follows a page: a
 * hand-off), given the time the incident was switched on.
 */
export async function runIncident(
  s: Stack,
  name: Incident,
  alerts: ExpectedAlert[],
  timings: Record<string, number>,
  waitMs = 120_000,
  whileFiring?: (since: number) => Promise<void>,
): Promise<void> {
  const since = Date.now();
  await s.incidents.set(name, true);
  for (const a of alerts) {
    // Final once every receiver of Alertmanager's routing has it: no sleep for late receivers.
    expect(await s.delivered(a.labels, since, waitMs), a.labels.alertname).toEqual(a.receivers);
    timings[`${name}:${a.labels.alertname}`] =
      (s.recorder.firstArrival(a.labels, 'firing', since) as number) - since;
  }
  await whileFiring?.(since);

  const off = Date.now();
  await s.incidents.set(name, false);
  for (const a of alerts) {
    const expected = a.resolvedTo ?? a.receivers;
    await waitFor(
      () => s.recorder.receiversOf(a.labels, 'resolved', off).length >= expected.length,
      waitMs,
      `${a.labels.alertname} resolved`,
      a.labels.alertname ? s.explain(a.labels.alertname) : undefined,
    );
    timings[`${name}:${a.labels.alertname}:resolved`] =
      (s.recorder.firstArrival(a.labels, 'resolved', off) as number) - off;
  }
  await settle();
  for (const a of alerts) {
    expect(s.recorder.receiversOf(a.labels, 'resolved', off), `${a.labels.alertname} resolved`).toEqual(
      a.resolvedTo ?? a.receivers,
    );
  }
}
