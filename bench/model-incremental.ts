/**
 * mlwatch bench: the incremental classification check (models[].incremental) in steady state, against the same
 * check over the last hour alone, in the same run (issue 14's target: at most 2x).
 *
 * 1,000,000 predictions over the 13 days before the load, each labeled 1 to 24 hours after it was made, the
 * labels not yet due left out. Each round is a minute of traffic: 77 predictions stamped in the last minute and
 * the labels that came due in it (77, for predictions 1 to 24 hours old), then a run of each side in a
 * rotating order:
 * - `incremental 14d`: the check of windows [14d] with incremental {} (buckets of 1h, settle 5m), warm: its
 *   first run (every bucket summed, and the full statement for the exact AUC) is timed apart;
 * - `check 1h`: the same model's check without incremental over windows [1h];
 * - `full 14d`: the check without incremental over windows [14d], what the incremental one replaces.
 * The tables have the indexes an incremental model wants (docs/architecture.md, "Incremental checks"):
 * predictions (predicted_at), (key); labels (key), (observed_at). After the rounds, the incremental check's
 * values are held against the full check's, run in the same snapshot.
 *
 *   npx tsx bench/model-incremental.ts   (MLWATCH_BENCH_DATABASE_URL, default postgresql://postgres@127.0.0.1:5432/test)
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import type { Check } from '../src/checks/types.js';
import { createPgWarehouse } from '../src/warehouse/pg.js';
import type { Warehouse } from '../src/warehouse/types.js';
import { benchConfig, connectOrExit, count, finish, Watchdog, writeFigures } from './harness.js';
import { line, type Stats, stats, x } from './stats.js';

const URL_ = process.env.MLWATCH_BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';
const SCHEMA = 'mlwatch_bench_incremental';
const ROWS = 1_000_000;
const SPAN_DAYS = 13;
const PER_MINUTE = Math.round(ROWS / (SPAN_DAYS * 24 * 60)); // 53
const R = 9; // timed rounds, after one untimed warm-up of every side
const DEADLINE_MS = 300_000;
const APP = `mlwatch-bench-incremental-${process.pid}`;
const OUT_FILE = fileURLToPath(new URL('../.bench/model-incremental.json', import.meta.url));
const TARGET = 2;

async function load(db: pg.Client): Promise<void> {
  await db.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  await db.query(`CREATE SCHEMA ${SCHEMA}`);
  await db.query(`CREATE UNLOGGED TABLE ${SCHEMA}.predictions (key bigint NOT NULL, predicted_at timestamptz NOT NULL,
    score float8 NOT NULL) WITH (autovacuum_enabled = off)`);
  await db.query(`CREATE UNLOGGED TABLE ${SCHEMA}.labels (key bigint NOT NULL, observed_at timestamptz NOT NULL,
    label boolean NOT NULL) WITH (autovacuum_enabled = off)`);
  await db.query('SELECT setseed(0.14)');
  await db.query(
    `INSERT INTO ${SCHEMA}.predictions
     SELECT i, now() - interval '1 second' - interval '${SPAN_DAYS} days' * random(), ((i * 7919) % 10000000 + 0.5) / 10000000
     FROM generate_series(1, $1::bigint) AS i`,
    [ROWS],
  );
  // Labels due before the load, observed 1 to 24 hours after the prediction; positive with probability = score.
  await db.query(`INSERT INTO ${SCHEMA}.labels
    SELECT key, observed_at, random() < score FROM (
      SELECT key, score, predicted_at + interval '1 hour' + interval '23 hours' * random() AS observed_at
      FROM ${SCHEMA}.predictions) p
    WHERE observed_at < now() - interval '10 minutes'`);
  for (const index of [
    'predictions (predicted_at)',
    'predictions (key)',
    'labels (key)',
    'labels (observed_at)',
  ]) {
    await db.query(`CREATE INDEX ON ${SCHEMA}.${index}`);
  }
  await db.query(`VACUUM ANALYZE ${SCHEMA}.predictions`);
  await db.query(`VACUUM ANALYZE ${SCHEMA}.labels`);
}

let nextKey = ROWS + 1;
/**
 * A minute of traffic: PER_MINUTE predictions stamped in the last minute, and as many labels stamped in it
 * for predictions 1 to 24 hours old that have none yet (their label came due).
 */
async function minute(db: pg.Client): Promise<void> {
  await db.query(
    `INSERT INTO ${SCHEMA}.predictions
     SELECT i, now() - interval '1 minute' * random(), random() FROM generate_series($1::bigint, $2::bigint) AS i`,
    [nextKey, nextKey + PER_MINUTE - 1],
  );
  nextKey += PER_MINUTE;
  await db.query(
    `INSERT INTO ${SCHEMA}.labels
     SELECT p.key, now() - interval '1 minute' * random(), random() < p.score
     FROM ${SCHEMA}.predictions p
     WHERE p.predicted_at BETWEEN now() - interval '24 hours' AND now() - interval '1 hour'
       AND NOT EXISTS (SELECT 1 FROM ${SCHEMA}.labels l WHERE l.key = p.key)
     LIMIT $1`,
    [PER_MINUTE],
  );
}

function checks(): Record<'incremental' | 'hour' | 'full', Check> {
  const model = (name: string, windows: string, extra = '') => `  - name: ${name}
    task: binary_classification
    owner: bench
    predictions: { table: ${SCHEMA}.predictions, key: key, timestamp: predicted_at, score: score }
    labels: { table: ${SCHEMA}.labels, key: key, timestamp: observed_at, label: label }
    windows: ${windows}
${extra}`;
  const cfg = benchConfig(
    { url: URL_, app: APP, statementTimeout: '120s' },
    `models:
${model('incremental', '[14d]', '    incremental: {}\n')}${model('hour', '[1h]')}${model('full', '[14d]')}`,
  );
  const find = (name: string) => {
    const c = cfg.checks.find((k) => k.id === `model:${name}:performance`);
    if (c === undefined) throw new Error(`no check model:${name}:performance`);
    return c;
  };
  return { incremental: find('incremental'), hour: find('hour'), full: find('full') };
}

async function timed(w: Warehouse, check: Check): Promise<number> {
  const t0 = performance.now();
  await w.readOnly({ timeoutMs: 120_000 }, (q) => check.run(q));
  return performance.now() - t0;
}

/**
 * The incremental check's values against the full check's, in one snapshot: every family but the AUC's to 1e-9;
 * the AUC, as of the incremental check's last full run, within 2 standard errors of the current one.
 */
async function verify(w: Warehouse, c: ReturnType<typeof checks>): Promise<string> {
  const [inc, full] = await w.readOnly({ timeoutMs: 120_000 }, async (q) => [
    await c.incremental.run(q),
    await c.full.run(q),
  ]);
  const byKey = (samples: typeof inc.samples) =>
    new Map(samples.map((s) => [`${s.name}${JSON.stringify({ ...s.labels, model: '' })}`, s.value]));
  const a = byKey(inc.samples);
  const b = byKey(full.samples);
  let n = 0;
  let aucGap = 0;
  for (const [key, want] of b) {
    const got = a.get(key);
    if (key.startsWith('mlwatch_model_auc{')) {
      const se = b.get(key.replace('mlwatch_model_auc{', 'mlwatch_model_auc_stderr{')) ?? 0;
      aucGap = Math.abs((got ?? Number.NaN) - want);
      if (!(aucGap <= 2 * se))
        throw new Error(`the incremental check's AUC is ${got}, the current one ${want}`);
      continue;
    }
    if (key.startsWith('mlwatch_model_auc_stderr{')) continue;
    if (got === undefined || !(Math.abs(got - want) <= 1e-9 * Math.max(1, Math.abs(want))))
      throw new Error(`the incremental check's ${key} is ${got}, the full check's ${want}`);
    n++;
  }
  return `${n} series equal to the full check's to 1e-9; the AUC, as of the first run, ${aucGap.toExponential(1)} from the current one`;
}

async function main(): Promise<void> {
  const dog = new Watchdog({ url: URL_, app: APP, schema: SCHEMA }, DEADLINE_MS);
  const db = await connectOrExit(URL_, APP);
  const version = String((await db.query('SHOW server_version')).rows[0]?.server_version ?? '?');
  console.log(
    `mlwatch bench: incremental classification (Postgres ${version}, node ${process.version}, ${os.availableParallelism()} CPUs)`,
  );
  const w = createPgWarehouse({ url: URL_, pool: 2, applicationName: APP, connectTimeoutMs: 5000 });
  try {
    const t0 = performance.now();
    await load(db);
    console.log(`loaded ${count(ROWS)} predictions in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const c = checks();
    const cold = await timed(w, c.incremental);
    const sides = { 'incremental 14d': c.incremental, 'check 1h': c.hour, 'full 14d': c.full };
    const names = Object.keys(sides) as Array<keyof typeof sides>;
    for (const n of names) await timed(w, sides[n]); // warm-up
    const samples: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
    for (let r = 0; r < R; r++) {
      await minute(db);
      for (let k = 0; k < names.length; k++) {
        const n = names[(r + k) % names.length] as keyof typeof sides;
        samples[n]?.push(await timed(w, sides[n]));
      }
    }
    const s: Record<string, Stats> = {};
    console.log(
      `\n1. a minute of traffic (${PER_MINUTE} predictions, ${PER_MINUTE} labels due) then each check, ${R} rounds`,
    );
    for (const n of names) {
      s[n] = stats(samples[n] as number[]);
      console.log(`  ${n.padEnd(18)} ${line(s[n] as Stats)}`);
    }
    const perRound = (a: string, b: string) =>
      stats((samples[a] as number[]).map((v, i) => v / ((samples[b] as number[])[i] as number))).median;
    const toHour = perRound('incremental 14d', 'check 1h');
    const toFull = perRound('incremental 14d', 'full 14d');
    console.log(
      `  incremental 14d = ${x(toHour)} check 1h (per round; target <= ${TARGET}x: ${toHour <= TARGET ? 'PASS' : 'FAIL'}), ${x(toFull)} full 14d`,
    );
    console.log(
      `  first run of the incremental check (every bucket, and the full statement): ${cold.toFixed(0)} ms`,
    );
    const verified = await verify(w, c);
    console.log(`  ${verified}`);
    dog.clear();
    writeFigures(OUT_FILE, {
      version,
      rows: ROWS,
      rounds: R,
      perMinute: PER_MINUTE,
      coldMs: Math.round(cold),
      stats: s,
      samples,
      ratios: { incrementalToHour: toHour, incrementalToFull: toFull, target: TARGET },
    });
  } finally {
    await w.close();
    await db.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`).catch(() => {});
    await db.end();
  }
}

finish(main());
