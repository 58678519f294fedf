/**
 * mlwatch bench: a dataset's incremental scan (datasets[].incremental) in steady state, against the same scan
 * over the last hour alone and against the full scan it replaces, in the same run (issue 14: cost per run grows
 * with new data, not with the window; the models' target, at most 2x the hour, held here too).
 *
 * 2,000,000 rows over the 13 days before the load (an amount, a status, a note; NULLs in each; amounts and
 * statuses out of range), indexed on the timestamp (what an incremental dataset wants: its parts are ranges of
 * it). Each round is a minute of traffic (107 rows stamped in the last minute), then a run of each side in a
 * rotating order, for the scan and for drift:
 * - `scan incremental`: volume over 7d (14d with the week before), nulls and validity over 14d, freshness, with
 *   incremental {} (buckets of 1h, settle 5m, a full count daily), warm: its first run is timed apart;
 *   `scan 1h`: the same over the last hour (volume 30m and the half hour before, nulls and validity 1h);
 *   `scan full`: the 14-day scan without incremental;
 * - `drift incremental`: PSI and JS of the amount (10 bins) and the status over the current day against the 7
 *   days before it (fixed at the start), with incremental {}; `drift 1h`: the current window 1h; `drift
 *   full`: the day without incremental.
 * After the rounds, each incremental check's values are held against the full one's, in one snapshot.
 *
 *   npx tsx bench/data-incremental.ts   (MLWATCH_BENCH_DATABASE_URL, default postgresql://postgres@127.0.0.1:5432/test)
 */
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import type { Check } from '../src/checks/types.js';
import { createPgWarehouse } from '../src/warehouse/pg.js';
import type { Warehouse } from '../src/warehouse/types.js';
import { benchConfig, count, finish, openBench, pass, Watchdog, writeFigures } from './harness.js';
import { incrementalRatios, rotatingRounds, type Side, type Sides } from './incremental-rounds.js';
import { line, type Stats, stats, x } from './stats.js';

const URL_ = process.env.MLWATCH_BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';
const SCHEMA = 'mlwatch_bench_data_incremental';
const ROWS = 2_000_000;
const SPAN_DAYS = 13;
const PER_MINUTE = Math.round(ROWS / (SPAN_DAYS * 24 * 60)); // 107
const R = 9; // timed rounds, after one untimed warm-up of every side
const DEADLINE_MS = 300_000;
const APP = `mlwatch-bench-data-incremental-${process.pid}`;
const OUT_FILE = fileURLToPath(new URL('../.bench/data-incremental.json', import.meta.url));
const TARGET = 2;
/** A row's columns after its timestamp: an amount (NULL 1 in 20, out of range 1 in 50), a status, a note. */
const COLUMNS = `CASE WHEN random() < 0.05 THEN NULL WHEN random() < 0.02 THEN -1 ELSE random() * 100 END,
  (ARRAY['ok', 'ok', 'ok', 'late', 'bad', NULL])[1 + floor(random() * 6)::int],
  CASE WHEN random() < 0.5 THEN NULL ELSE 'n' END`;

async function load(db: pg.Client): Promise<void> {
  await db.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  await db.query(`CREATE SCHEMA ${SCHEMA}`);
  await db.query(`CREATE UNLOGGED TABLE ${SCHEMA}.events (ts timestamptz NOT NULL, amount float8, status text,
    note text) WITH (autovacuum_enabled = off)`);
  await db.query('SELECT setseed(0.14)');
  await db.query(
    `INSERT INTO ${SCHEMA}.events SELECT now() - interval '1 second' - interval '${SPAN_DAYS} days' * random(), ${COLUMNS}
     FROM generate_series(1, $1::bigint)`,
    [ROWS],
  );
  await db.query(`CREATE INDEX ON ${SCHEMA}.events (ts)`);
  await db.query(`VACUUM ANALYZE ${SCHEMA}.events`);
}

/** A minute of traffic: PER_MINUTE rows stamped in the last minute. */
async function minute(db: pg.Client): Promise<void> {
  await db.query(
    `INSERT INTO ${SCHEMA}.events SELECT now() - interval '1 minute' * random(), ${COLUMNS} FROM generate_series(1, $1::int)`,
    [PER_MINUTE],
  );
}

/** Each group's three sides: the incremental check, the same over the last hour, the full one it replaces. */
const GROUPS = ['scan', 'drift'] as const;
type Group = (typeof GROUPS)[number];

function checks(): Record<Group, Sides> {
  // The week before the current day, fixed: a sliding reference's cached bins differ between checks that cached
  // them at different times, and the values could not be compared.
  const day = 86_400_000;
  const week = {
    from: new Date(Date.now() - 8 * day).toISOString(),
    to: new Date(Date.now() - day).toISOString(),
  };
  const dataset = (
    name: string,
    volume: string,
    window: string,
    current: string,
    extra = '',
  ) => `  - name: ${name}
    table: ${SCHEMA}.events
    timestamp: ts
    checks:
      freshness: {}
      volume: { window: ${volume} }
      nulls: { columns: all, window: ${window} }
      validity: { window: ${window}, columns: { amount: { min: 0, max: 100 }, status: { allowed: [ok, late] } } }
      drift: { features: [amount, status], current: ${current}, reference: { from: '${week.from}', to: '${week.to}' } }
${extra}`;
  const cfg = benchConfig(
    { url: URL_, app: APP, statementTimeout: '120s' },
    `datasets:
${dataset('incremental', '7d', '14d', '1d', '    incremental: {}\n')}${dataset('hour', '30m', '1h', '1h')}${dataset('full', '7d', '14d', '1d')}`,
  );
  const find = (name: string, part: Group) => {
    const c = cfg.checks.find((k) => k.id === `dataset:${name}:${part}`);
    if (c === undefined) throw new Error(`no check dataset:${name}:${part}`);
    return c;
  };
  const sides = (part: Group): Sides => ({
    incremental: find('incremental', part),
    hour: find('hour', part),
    full: find('full', part),
  });
  return { scan: sides('scan'), drift: sides('drift') };
}

/** One run of `check` in its own read-only transaction, in ms. */
async function timed(w: Warehouse, check: Check): Promise<number> {
  const t0 = performance.now();
  await w.readOnly({ timeoutMs: 120_000 }, (q) => check.run(q));
  return performance.now() - t0;
}

/** The incremental check's values against the full one's in one snapshot (the age to 1e-6 s, the rest equal). */
async function verify(w: Warehouse, c: Sides): Promise<string> {
  const [inc, full] = await w.readOnly({ timeoutMs: 120_000 }, async (q) => [
    await c.incremental.run(q),
    await c.full.run(q),
  ]);
  const byKey = (samples: typeof inc.samples) =>
    new Map(samples.map((s) => [`${s.name}${JSON.stringify({ ...s.labels, dataset: '' })}`, s.value]));
  const a = byKey(inc.samples);
  let n = 0;
  for (const [key, want] of byKey(full.samples)) {
    const got = a.get(key);
    if (got === undefined || !(Math.abs(got - want) <= 1e-6))
      throw new Error(`incremental ${key} is ${got}, full ${want}`);
    n++;
  }
  if (n === 0) throw new Error('no series to compare');
  return `${n} series equal to the full check's`;
}

async function main(dog: Watchdog): Promise<void> {
  const { db, version } = await openBench(URL_, APP, { title: 'incremental dataset scan', schema: SCHEMA });
  const w = createPgWarehouse({ url: URL_, pool: 2, applicationName: APP, connectTimeoutMs: 5000 });
  try {
    const t0 = performance.now();
    await load(db);
    console.log(`loaded ${count(ROWS)} rows in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const c = checks();
    const label = (g: Group, side: Side) =>
      `${g} ${side === 'incremental' ? 'incremental' : side === 'hour' ? '1h' : 'full'}`;
    const run = await rotatingRounds(c, {
      rounds: R,
      name: label,
      arrive: () => minute(db),
      time: (check) => timed(w, check),
    });
    const { cold, names, samples } = run;
    console.log(`\n1. a minute of traffic (${PER_MINUTE} rows) then each check, ${R} rounds`);
    const s = Object.fromEntries(names.map((n) => [n, stats(samples[n] as number[])]));
    for (const n of names) console.log(`  ${n.padEnd(18)} ${line(s[n] as Stats)}`);
    const ratios: Record<string, { toHour: number; toFull: number }> = {};
    for (const g of GROUPS) {
      const { toHour, toFull } = incrementalRatios(run, g, label);
      ratios[g] = { toHour, toFull };
      console.log(
        `  ${g}: incremental = ${x(toHour)} the same over 1h (per round; target <= ${TARGET}x: ${pass(toHour <= TARGET)}), ${x(toFull)} full`,
      );
      console.log(
        `  ${g}: first run of the incremental check (every bucket, and the full count): ${(cold[g] as number).toFixed(0)} ms`,
      );
      console.log(`  ${g}: ${await verify(w, c[g])}`);
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
      ratios: { ...ratios, target: TARGET },
    });
  } finally {
    await w.close();
    await db.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`).catch(() => {});
    await db.end();
  }
}

const dog = new Watchdog({ url: URL_, app: APP, schema: SCHEMA }, DEADLINE_MS);
finish(main(dog), () => dog.givingUp);
