import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { createPgWriter } from '../src/warehouse/pg.js';
import { runCli, type Served, startCli } from './helpers/cli.js';
import { onRealPostgres, TEST_DATABASE_URL } from './helpers/db.js';
import { type Parsed, sampleValue, series } from './helpers/exposition.js';
import { scrape, waitFor } from './helpers/wait.js';

// `npx mlwatch demo`, the README's first command, end to end over HTTP.
async function readyDemo(args: string[]): Promise<{ served: Served; metrics: Parsed }> {
  const served = await startCli(['demo', '--port', '0', '--batch-interval', '1', ...args]);
  await waitFor(async () => (await fetch(`${served.url}/readyz`)).status === 200, 60_000, 'demo ready');
  return { served, metrics: await scrape(served.url) };
}

function assertLiveDemo(m: Parsed) {
  const checks = series(m, 'mlwatch_check_success');
  expect(checks.length).toBeGreaterThanOrEqual(6);
  expect(checks.filter((c) => c.value !== 1).map((c) => c.labels.check)).toEqual([]);
  // About one application every two minutes: 30 an hour.
  const lastHour = series(m, 'demo_applications_last_hour').reduce((a, s) => a + s.value, 0);
  expect(lastHour).toBeGreaterThan(10);
  expect(lastHour).toBeLessThan(60);
  expect(sampleValue(m, 'demo_approval_ratio')).toBeGreaterThan(0.5);
  expect(sampleValue(m, 'demo_approval_ratio')).toBeLessThan(0.7);
  const age = Date.now() / 1000 - sampleValue(m, 'demo_applications_last_ingested_timestamp_seconds');
  expect(age).toBeLessThan(15 * 60);
  expect(sampleValue(m, 'mlwatch_warehouse_up')).toBe(1);
  // The demo model names the dataset it scores, one the demo watches: its alerts carry it, so a stale
  // applications feed silences them.
  const info = series(m, 'mlwatch_model_info', { model: 'credit_default' });
  expect(info.length).toBeGreaterThan(0);
  expect([...new Set(info.map((x) => x.labels.dataset))]).toEqual(['applications']);
  expect(
    series(m, 'mlwatch_dataset_last_update_timestamp_seconds', { dataset: 'applications' }),
  ).toHaveLength(1);
}

describe('mlwatch demo', () => {
  const stops: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const stop of stops) await stop();
  });

  it('seeds the embedded warehouse and serves live metrics', async () => {
    const { served, metrics } = await readyDemo([]);
    stops.push(() => served.stop('SIGKILL'));
    assertLiveDemo(metrics);
    // feature_pipeline every 5 minutes and scoring_batch every 15: 288 + 96 runs a day.
    const runs = series(metrics, 'demo_job_runs_last_day').reduce((a, s) => a + s.value, 0);
    expect(Math.abs(runs - 384)).toBeLessThanOrEqual(2);

    // The incident switches over HTTP: a credential to switch, a 404 with the list for a name it does not
    // know, a 409 with the way out for one that would rewrite what another active incident rewrites.
    const incident = (name: string, method: string, token?: string) =>
      fetch(`${served.url}/-/demo/incidents/${name}`, {
        method,
        headers: token ? { authorization: `Bearer ${token}` } : {},
      });
    expect((await incident('rollout', 'PUT')).status).toBe(401);
    const unknown = await incident('outage', 'PUT', 'demo-operator-token');
    expect(unknown.status).toBe(404);
    expect(await unknown.text()).toContain('available: stale, nulls, schema, drift, auc, rollout,');
    const on = await incident('rollout', 'PUT', 'demo-operator-token');
    expect(on.status).toBe(200);
    expect(await on.json()).toEqual({ active: ['rollout'] });
    const both = await incident('auc', 'PUT', 'demo-operator-token');
    expect(both.status).toBe(409);
    expect(await both.text()).toContain('rollout is on and rewrites the same scores; switch it off first');
    expect(await (await incident('rollout', 'DELETE', 'demo-operator-token')).json()).toEqual({ active: [] });

    // stale: the freshness check's first run after the switch exports an age past the 900 s line (the newest
    // application is 20 minutes old at the switch); switched off, the next run's is below it again.
    const SCAN = 'dataset:applications:scan';
    const runAfter = (t: number, what: string) =>
      waitFor(
        async () => {
          const m = await scrape(served.url);
          const end = sampleValue(m, 'mlwatch_check_last_success_timestamp_seconds', { check: SCAN }) * 1000;
          const took = sampleValue(m, 'mlwatch_check_duration_seconds', { check: SCAN }) * 1000;
          return end - took - 1 > t && m;
        },
        40_000,
        what,
      );
    const age = (m: Parsed) =>
      sampleValue(m, 'mlwatch_dataset_newest_row_age_seconds', { dataset: 'applications' });
    const stale = await incident('stale', 'PUT', 'demo-operator-token');
    const stalled = Date.now();
    expect(stale.status).toBe(200);
    const answer = (await stale.json()) as { active: string[]; note: string };
    expect(answer.active).toEqual(['stale']);
    expect(answer.note).toContain('stalled 20 minutes ago');
    expect(answer.note).toContain('fires the alert within about a minute');
    expect(age(await runAfter(stalled, 'a freshness run on the stalled feed'))).toBeGreaterThan(1200);
    expect(await (await incident('stale', 'DELETE', 'demo-operator-token')).json()).toEqual({ active: [] });
    const resumed = Date.now();
    // Below unless no application arrived in the 15 minutes before the switch (odds about 5e-4).
    expect(age(await runAfter(resumed, 'a freshness run after the catch-up'))).toBeLessThan(900);

    // The banner names the weekly review of this very demo, on its real port, and the command works as printed.
    const printed = /npx mlwatch report --exporter (\S+)\n/.exec(served.logs());
    expect(printed?.[1]).toBe(served.url);
    const review = runCli(['report', '--exporter', printed?.[1] as string]);
    expect(review.code, review.stderr).toBe(0);
    expect(review.stdout).toContain(`_Now, from the exporter at ${served.url}.`);
    expect(await served.stop('SIGTERM')).toBe(0);
  }, 150_000);

  it.skipIf(!onRealPostgres)('seeds a real Postgres with --warehouse-url', async () => {
    const schema = `demo_${randomBytes(4).toString('hex')}`;
    const writer = createPgWriter(TEST_DATABASE_URL as string);
    stops.push(async () => {
      await writer.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await writer.close();
    });
    const { served, metrics } = await readyDemo([
      '--warehouse-url',
      TEST_DATABASE_URL as string,
      '--schema',
      schema,
    ]);
    stops.push(() => served.stop('SIGKILL'));
    assertLiveDemo(metrics);
    const rows = await writer.query(`SELECT count(*)::int AS n FROM ${schema}.applications`);
    expect(rows[0]?.n).toBeGreaterThan(20_000);
    expect(await served.stop('SIGTERM')).toBe(0);
  });
});
