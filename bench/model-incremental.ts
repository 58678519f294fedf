/**
 * mlwatch bench: the incremental performance checks (models[].incremental) of a binary classifier, a regression
 * model and a multiclass model, and the classifier's labels, prediction-drift and segments checks, in steady state, each
 * against the same check over the last hour alone, in the same run (issue 14's target: at most 2x).
 *
 * 1,000,000 predictions over the 13 days before the load, each labeled 1 to 24 hours after it was made, the
 * labels not yet due left out. Each round is a minute of traffic: 77 predictions stamped in the last minute and
 * the labels that came due in it (77, for predictions 1 to 24 hours old), then a run of each side in a
 * rotating order:
 * - `incremental 14d`: the check of windows [14d] with incremental {} (buckets of 1h, settle 5m), warm: its
 *   first run (every bucket summed, and the full statement for the exact AUC) is timed apart;
 * - `check 1h`: the same model's check without incremental over windows [1h];
 * - `full 14d`: the check without incremental over windows [14d], what the incremental one replaces;
 * and the same three for a regression model on the same predictions (the score as its predicted value, the
 * labels' `amount` as its label) and for a multiclass model (three classes, low, mid and high, with
 * probabilities (1 - score)², 2 score (1 - score) and score², the labels' `tier` drawn from them). The
 * classifier's prediction drift compares its windows with a fixed reference, its first 3 days; its segments check
 * slices it by `channel` (5 values) and `region` (12), as a scoring service would log them.
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
import { incrementalRatios, rotatingRounds, type Side, type Sides } from './incremental-rounds.js';
import { line, type Stats, stats, x } from './stats.js';

const URL_ = process.env.MLWATCH_BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';
const SCHEMA = 'mlwatch_bench_incremental';
const ROWS = 1_000_000;
const SPAN_DAYS = 13;
const PER_MINUTE = Math.round(ROWS / (SPAN_DAYS * 24 * 60)); // 53
const R = 9; // timed rounds, after one untimed warm-up of every side
const DEADLINE_MS = 420_000;
const APP = `mlwatch-bench-incremental-${process.pid}`;
const OUT_FILE = fileURLToPath(new URL('../.bench/model-incremental.json', import.meta.url));
const TARGET = 2;
/** The regression model's label: its predicted value (the score) plus noise of up to 0.2 either way. */
const AMOUNT = 'score + (random() - 0.5) * 0.4';
/** The multiclass model's probabilities, from the score, as predictions columns. */
const CLASSES = {
  p_low: '(1 - score) * (1 - score)',
  p_mid: '2 * score * (1 - score)',
  p_high: 'score * score',
} as const;
/**
 * The classifier's segment columns, from the key: 5 channels, and 12 regions of sizes 1, 3, 5 ... 23 in 144, so
 * that the top 10 regions are the same in every run (of equal sizes they would trade places with each minute of
 * traffic, and a region that joins the top between full runs has no AUC until the next one).
 */
const SEGMENTS = `(ARRAY['web', 'web', 'app', 'app', 'branch', 'phone', 'kiosk'])[1 + key % 7], 'r' || floor(sqrt(key * 31 % 144))::int`;
/** The multiclass model's label, drawn from its probabilities (columns of `p`). */
const TIER = `(SELECT CASE WHEN u < p.p_low THEN 'low' WHEN u < p.p_low + p.p_mid THEN 'mid' ELSE 'high' END FROM (SELECT random() AS u) r)`;
const KINDS = {
  classification: { task: 'binary_classification', predicted: 'score: score', label: 'label' },
  regression: { task: 'regression', predicted: 'prediction: score', label: 'amount' },
  multiclass: {
    task: 'multiclass_classification',
    predicted: 'scores: { low: p_low, mid: p_mid, high: p_high }',
    label: 'tier',
  },
} as const;
type Kind = keyof typeof KINDS;

async function load(db: pg.Client): Promise<void> {
  await db.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  await db.query(`CREATE SCHEMA ${SCHEMA}`);
  await db.query(`CREATE UNLOGGED TABLE ${SCHEMA}.predictions (key bigint NOT NULL, predicted_at timestamptz NOT NULL,
    score float8 NOT NULL, p_low float8 NOT NULL, p_mid float8 NOT NULL, p_high float8 NOT NULL,
    channel text NOT NULL, region text NOT NULL)
    WITH (autovacuum_enabled = off)`);
  await db.query(`CREATE UNLOGGED TABLE ${SCHEMA}.labels (key bigint NOT NULL, observed_at timestamptz NOT NULL,
    label boolean NOT NULL, amount float8 NOT NULL, tier text NOT NULL) WITH (autovacuum_enabled = off)`);
  await db.query('SELECT setseed(0.14)');
  await db.query(
    `INSERT INTO ${SCHEMA}.predictions
     SELECT key, predicted_at, score, ${Object.values(CLASSES).join(', ')}, ${SEGMENTS}
     FROM (SELECT i AS key, now() - interval '1 second' - interval '${SPAN_DAYS} days' * random() AS predicted_at,
                  ((i * 7919) % 10000000 + 0.5) / 10000000 AS score
           FROM generate_series(1, $1::bigint) AS i) AS s`,
    [ROWS],
  );
  // Labels due before the load, observed 1 to 24 hours after the prediction; positive with probability = score;
  // the regression model's label the score plus noise.
  await db.query(`INSERT INTO ${SCHEMA}.labels
    SELECT key, observed_at, random() < score, ${AMOUNT}, ${TIER} FROM (
      SELECT key, score, p_low, p_mid, predicted_at + interval '1 hour' + interval '23 hours' * random() AS observed_at
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
     SELECT key, predicted_at, score, ${Object.values(CLASSES).join(', ')}, ${SEGMENTS}
     FROM (SELECT i AS key, now() - interval '1 minute' * random() AS predicted_at, random() AS score
           FROM generate_series($1::bigint, $2::bigint) AS i) AS s`,
    [nextKey, nextKey + PER_MINUTE - 1],
  );
  nextKey += PER_MINUTE;
  await db.query(
    `INSERT INTO ${SCHEMA}.labels
     SELECT p.key, now() - interval '1 minute' * random(), random() < p.score, ${AMOUNT}, ${TIER}
     FROM ${SCHEMA}.predictions p
     WHERE p.predicted_at BETWEEN now() - interval '24 hours' AND now() - interval '1 hour'
       AND NOT EXISTS (SELECT 1 FROM ${SCHEMA}.labels l WHERE l.key = p.key)
     LIMIT $1`,
    [PER_MINUTE],
  );
}

function checks(): Record<Kind | 'labels' | 'prediction drift' | 'segments', Sides> {
  const model = (name: string, kind: Kind, windows: string, extra = '') => `  - name: ${name}
    task: ${KINDS[kind].task}
    owner: bench
    predictions: { table: ${SCHEMA}.predictions, key: key, timestamp: predicted_at, ${KINDS[kind].predicted} }
    labels: { table: ${SCHEMA}.labels, key: key, timestamp: observed_at, label: ${KINDS[kind].label} }
    windows: ${windows}
${extra}`;
  // The classifier's prediction drift against a fixed range of its first 3 days: every side bins alike.
  const day = 86_400_000;
  const reference = (k: Kind) =>
    k === 'classification'
      ? `    reference: { from: '${new Date(Date.now() - 13 * day).toISOString()}', to: '${new Date(Date.now() - 10 * day).toISOString()}' }
    segments: [channel, region]\n`
      : '';
  const models = (Object.keys(KINDS) as Kind[]).map(
    (k) =>
      `${model(`${k}_incremental`, k, '[14d]', `    incremental: {}\n${reference(k)}`)}${model(`${k}_hour`, k, '[1h]', reference(k))}${model(`${k}_full`, k, '[14d]', reference(k))}`,
  );
  const cfg = benchConfig(
    { url: URL_, app: APP, statementTimeout: '120s' },
    `models:
${models.join('')}`,
  );
  const find = (name: string, part: string) => {
    const c = cfg.checks.find((k) => k.id === `model:${name}:${part}`);
    if (c === undefined) throw new Error(`no check model:${name}:${part}`);
    return c;
  };
  const sides = (k: Kind, part = 'performance'): Sides => ({
    incremental: find(`${k}_incremental`, part),
    hour: find(`${k}_hour`, part),
    full: find(`${k}_full`, part),
  });
  return {
    classification: sides('classification'),
    regression: sides('regression'),
    multiclass: sides('multiclass'),
    // The classifier's labels check (every model has one; with incremental set, it keeps its counts too).
    labels: sides('classification', 'labels'),
    // Its prediction drift (PSI of the scores against the reference's deciles; incremental: bin counts kept).
    'prediction drift': sides('classification', 'prediction_drift'),
    // Its segments (counts, accuracy and rates per channel and region; incremental: counts kept per value).
    segments: sides('classification', 'segments'),
  };
}

/**
 * Where a run's time went, by statement: the clock, the setting that keeps the rest serial, the parts, the
 * relabeled predictions, the full statement.
 */
type Split = Record<string, number>;

function statementKind(sql: string): string {
  if (/\bnow_us\b/.test(sql)) return 'clock';
  if (/set_config/.test(sql)) return 'serial';
  if (/'before' AS state|'kept' AS state/.test(sql)) return 'relabeled';
  if (/ AS part, /.test(sql)) return 'parts';
  return 'full';
}

/** One run of `check` in its own read-only transaction, in ms; each statement's time added to `split`. */
async function timed(w: Warehouse, check: Check, split?: Split): Promise<number> {
  const t0 = performance.now();
  await w.readOnly({ timeoutMs: 120_000 }, (q) =>
    check.run({
      async query(sql, params) {
        const s0 = performance.now();
        try {
          return await q.query(sql, params);
        } finally {
          if (split !== undefined) {
            const kind = statementKind(sql);
            split[kind] = (split[kind] ?? 0) + performance.now() - s0;
          }
        }
      },
    }),
  );
  return performance.now() - t0;
}

/**
 * A multiclass model's AUC families and the AUC per segment: as of the incremental check's last full run, with
 * no standard error.
 */
const CLASS_AUC = /^mlwatch_model_(class|multiclass|segment)_auc\{/;
/** How far a label delay percentile as of the first run may be from the current one, relative. */
const DELAY_GAP = 1e-3;
/**
 * How far a multiclass AUC, or a segment's, as of the first run may be from the current one: a few hundred of
 * 1,000,000 rows moved.
 */
const CLASS_AUC_GAP = 1e-3;

/**
 * The incremental check's values against the full check's, in one snapshot: every family but the AUCs to 1e-9;
 * the AUC, as of the incremental check's last full run, within 2 standard errors of the current one (a
 * multiclass model's AUCs and the AUCs per segment within CLASS_AUC_GAP).
 */
async function verify(w: Warehouse, c: Sides): Promise<string> {
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
    if (key.startsWith('mlwatch_model_label_delay_seconds{')) {
      // As of the first run: a few hundred delays among 1,000,000 moved since.
      const gap = Math.abs((got ?? Number.NaN) - want) / want;
      if (!(gap <= DELAY_GAP))
        throw new Error(`the incremental check's ${key} is ${got}, the current one ${want}`);
      continue;
    }
    if (CLASS_AUC.test(key)) {
      aucGap = Math.max(aucGap, Math.abs((got ?? Number.NaN) - want));
      if (!(aucGap <= CLASS_AUC_GAP))
        throw new Error(`the incremental check's ${key} is ${got}, the current one ${want}`);
      continue;
    }
    if (got === undefined || !(Math.abs(got - want) <= 1e-9 * Math.max(1, Math.abs(want))))
      throw new Error(`the incremental check's ${key} is ${got}, the full check's ${want}`);
    n++;
  }
  if (n === 0) throw new Error('no series to compare');
  const auc = [...b.keys()].some((k) => k.startsWith('mlwatch_model_auc{') || CLASS_AUC.test(k))
    ? `; the AUCs, as of the first run, at most ${aucGap.toExponential(1)} from the current ones`
    : '';
  return `${n} series equal to the full check's to 1e-9${auc}`;
}

async function main(): Promise<void> {
  const dog = new Watchdog({ url: URL_, app: APP, schema: SCHEMA }, DEADLINE_MS);
  const db = await connectOrExit(URL_, APP);
  const version = String((await db.query('SHOW server_version')).rows[0]?.server_version ?? '?');
  console.log(
    `mlwatch bench: incremental classification, regression, multiclass, labels, prediction drift and segments (Postgres ${version}, node ${process.version}, ${os.availableParallelism()} CPUs)`,
  );
  const w = createPgWarehouse({ url: URL_, pool: 2, applicationName: APP, connectTimeoutMs: 5000 });
  try {
    const t0 = performance.now();
    await load(db);
    console.log(`loaded ${count(ROWS)} predictions in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const c = checks();
    const kinds = Object.keys(c) as Array<keyof typeof c>;
    const label = (k: string, side: Side) =>
      `${k} ${side === 'incremental' ? 'incremental 14d' : side === 'hour' ? 'check 1h' : 'full 14d'}`;
    const splits: Record<string, Split> = {};
    const run = await rotatingRounds(c, {
      rounds: R,
      name: label,
      arrive: () => minute(db),
      // Only the timed rounds' statements are split: the first run reads every bucket.
      time: (check, name, phase) => {
        if (phase !== 'round') return timed(w, check);
        splits[name] ??= {};
        return timed(w, check, splits[name]);
      },
    });
    const { cold, names, samples } = run;
    const s: Record<string, Stats> = {};
    console.log(
      `\n1. a minute of traffic (${PER_MINUTE} predictions, ${PER_MINUTE} labels due) then each check, ${R} rounds`,
    );
    for (const n of names) {
      s[n] = stats(samples[n] as number[]);
      console.log(`  ${n.padEnd(30)} ${line(s[n] as Stats)}`);
    }
    const ratios: Record<string, { toHour: number; toFull: number }> = {};
    for (const k of kinds) {
      const { toHour, toFull } = incrementalRatios(run, k, label);
      ratios[k] = { toHour, toFull };
      console.log(
        `  ${k}: incremental 14d = ${x(toHour)} check 1h (per round; target <= ${TARGET}x: ${toHour <= TARGET ? 'PASS' : 'FAIL'}), ${x(toFull)} full 14d`,
      );
      console.log(
        `  ${k}: first run of the incremental check (every bucket, and the full statement): ${(cold[k] as number).toFixed(0)} ms`,
      );
      const split = Object.entries(splits[`${k} incremental 14d`] as Split)
        .map(([kind, ms]) => `${kind} ${(ms / R).toFixed(1)}`)
        .join(', ');
      console.log(`  ${k}: the incremental check's statements, mean ms per run: ${split}`);
      console.log(`  ${k}: ${await verify(w, c[k])}`);
    }
    dog.clear();
    writeFigures(OUT_FILE, {
      version,
      rows: ROWS,
      rounds: R,
      perMinute: PER_MINUTE,
      coldMs: cold,
      stats: s,
      samples,
      splits,
      ratios: { ...ratios, target: TARGET },
    });
  } finally {
    await w.close();
    await db.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`).catch(() => {});
    await db.end();
  }
}

finish(main());
