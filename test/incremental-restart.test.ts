import { describe, expect, it } from 'vitest';
import { loadConfigText } from '../src/config/load.js';
import type { Running } from '../src/runtime/serve.js';
import { ACCESS_YAML } from './helpers/credentials.js';
import { sampleValue } from './helpers/exposition.js';
import { useServedFixture } from './helpers/served.js';
import { scrape, waitFor } from './helpers/wait.js';

// A restarted `mlwatch serve` takes the incremental check up where the last process left it: the buckets and
// the last full recomputation come from the state store, not from summing the window again. Through the real
// exporter: serve() wires the store's memory into the checks, the scheduler reads and saves it around runs.

const served = useServedFixture('i', { modelTables: true });

const RECOMPUTED = 'mlwatch_model_recomputed_timestamp_seconds';

function configOf(schema: string) {
  const text = [
    `warehouse: { url: '${served.db.configUrl}' }`,
    `state: { url: '${served.stateUrl}', schema: ${schema} }`,
    'models:',
    '  - name: churn',
    '    task: binary_classification',
    '    owner: data-science',
    '    windows: [2h]',
    `    predictions: { table: ${served.db.schema}.preds, key: id, timestamp: ts, score: score }`,
    `    labels: { table: ${served.db.schema}.outcomes, key: id, timestamp: ts, label: label }`,
    // Runs once at start (the hour never comes round within the test); a full recomputation each hour.
    '    interval: 1h',
    '    incremental: { bucket: 10m, settle: 1m, full_interval: 1h }',
    ACCESS_YAML,
  ].join('\n');
  return loadConfigText(text, 'restart.yaml', {}, '/');
}

/** Waits for the check's first run and returns its scrape. */
async function firstRun(r: Running) {
  return waitFor(
    async () => {
      const parsed = await scrape(`http://127.0.0.1:${r.port}`);
      return parsed.samples.some((s) => s.name === RECOMPUTED) ? parsed : undefined;
    },
    20_000,
    'the incremental check to run',
  );
}

describe('incremental check across a restart of the exporter', () => {
  it('starts from the saved buckets and the last recomputation; its values equal the tables', async () => {
    const { db } = served;
    // 360 predictions, one every 20 s over the last two hours less 10 minutes; every other one labeled, the
    // label stamped 10 minutes before now (settled).
    await db.writer.exec(`
      INSERT INTO ${db.schema}.preds
        SELECT i, now() - interval '110 minutes' + i * interval '18 seconds', (i % 10) / 10.0
        FROM generate_series(0, 359) i;
      INSERT INTO ${db.schema}.outcomes
        SELECT i, now() - interval '10 minutes', (i % 3 = 0)::int FROM generate_series(0, 359, 2) i;`);
    const schema = served.stateSchema();
    const first = await served.serve(configOf(schema), { ownState: db.kind === 'pg' });
    const before = await firstRun(first);
    const recomputed = sampleValue(before, RECOMPUTED, { model: 'churn', check: 'model:churn:performance' });
    expect(sampleValue(before, 'mlwatch_model_predictions', { model: 'churn', window: '2h' })).toBe(360);
    // The first run saved: one row per check, the buckets as parts (2 h of 10 min buckets: 11 or 12 complete).
    const [saved] = await db.writer.query(
      `SELECT revision, (SELECT count(*) FROM ${schema}.check_memory_parts p WHERE p.check_id = m.check_id) AS parts
       FROM ${schema}.check_memory m WHERE check_id = 'model:churn:performance'`,
    );
    expect(Number(saved?.revision)).toBe(1);
    expect(Number(saved?.parts)).toBeGreaterThanOrEqual(10);
    await served.stop(first);

    // Meanwhile 30 more predictions, 10 of them labeled positive.
    await db.writer.exec(`
      INSERT INTO ${db.schema}.preds SELECT 1000 + i, now() - interval '30 seconds', 0.95 FROM generate_series(0, 29) i;
      INSERT INTO ${db.schema}.outcomes SELECT 1000 + i, now() - interval '10 seconds', 1 FROM generate_series(0, 9) i;`);
    const second = await served.serve(configOf(schema), { ownState: db.kind === 'pg' });
    const after = await firstRun(second);
    // Not recomputed: a cold start would have run the full statement at once (and stamped a new time).
    expect(sampleValue(after, RECOMPUTED, { model: 'churn', check: 'model:churn:performance' })).toBe(
      recomputed,
    );
    // And yet every count is today's, from the buckets read back plus the new rows.
    const [expected] = await db.writer.query(
      `SELECT count(*) AS n, count(o.id) AS labeled, count(*) FILTER (WHERE o.label = 1) AS pos
       FROM ${db.schema}.preds p LEFT JOIN ${db.schema}.outcomes o USING (id) WHERE p.ts >= now() - interval '2 hours'`,
    );
    expect(sampleValue(after, 'mlwatch_model_predictions', { model: 'churn', window: '2h' })).toBe(
      Number(expected?.n),
    );
    expect(sampleValue(after, 'mlwatch_model_labeled_predictions', { model: 'churn', window: '2h' })).toBe(
      Number(expected?.labeled),
    );
    expect(Number(expected?.n)).toBe(390);
    expect(Number(expected?.labeled)).toBe(190);
    const [again] = await db.writer.query(
      `SELECT revision FROM ${schema}.check_memory WHERE check_id = 'model:churn:performance'`,
    );
    expect(Number(again?.revision)).toBe(2);
  }, 60_000);
});
