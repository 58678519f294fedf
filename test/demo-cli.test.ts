import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { createPgWriter } from '../src/warehouse/pg.js';
import { type Served, startCli } from './helpers/cli.js';
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
    expect(await served.stop('SIGTERM')).toBe(0);
  });

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
