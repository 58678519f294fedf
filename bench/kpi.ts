/**
 * mlwatch bench: the ratio KPI check (5 windows, 30m to 1d, now and in each of the last 4 weeks: 25 periods,
 * one statement) on 1,000,000 decisions over 29 days, against a bare `count(*)` of the rows the check reads
 * (the 5 day-long stretches) and against the same 25 periods counted as `count(*) FILTER` pairs, the form the
 * check had with 2 periods per window. Rounds interleaved, order rotating; each round's ratio, then their
 * median. The check's numbers are held to counts made here, so a fast wrong statement cannot pass.
 * Runs against a real PostgreSQL in a schema of its own (mlwatch_bench_kpi, dropped at the start and the end).
 *
 *   npx tsx bench/kpi.ts   (MLWATCH_BENCH_DATABASE_URL, default postgresql://postgres@127.0.0.1:5432/test)
 */
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { periodsOf } from '../src/checks/kpi/periods.js';
import { ratioStatement, runRatio } from '../src/checks/kpi/ratio.js';
import { DEFAULT_WINDOWS } from '../src/checks/kpi/section.js';
import { DEMO_APPROVAL_RATE, DEMO_DECISIONS_PER_HOUR } from '../tools/kpi-traffic.js';
import { dropFloor } from './kpi-floor.js';
import { line, stats, x } from './stats.js';

const URL_ = process.env.MLWATCH_BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';
const SCHEMA = 'mlwatch_bench_kpi';
const ROWS = 1_000_000;
const R = 9;

const spans = periodsOf(DEFAULT_WINDOWS, 4);
const check = ratioStatement(
  { table: `${SCHEMA}.decisions`, timestamp: 'decided_at', numerator: 'approved' },
  spans,
);
const week = (k: number) => `now() - interval '${k * 7} days'`;
const STRETCHES = [0, 1, 2, 3, 4]
  .map((k) => `decided_at >= ${week(k)} - interval '1 day' AND decided_at < ${week(k)}`)
  .join(' OR ');
const COUNT_SQL = `SELECT count(*) AS n FROM ${SCHEMA}.decisions WHERE ${STRETCHES}`;
const FILTERS_SQL = `SELECT ${spans
  .flatMap((s, i) => {
    const c = `decided_at >= (SELECT now() - interval '${s.startAgoMs / 1000} seconds') AND decided_at < (SELECT now() - interval '${s.endAgoMs / 1000} seconds')`;
    return [`count(*) FILTER (WHERE ${c}) AS n_${i}`, `count(*) FILTER (WHERE ${c} AND approved) AS k_${i}`];
  })
  .join(', ')} FROM ${SCHEMA}.decisions WHERE ${STRETCHES}`;

/** Why the design's detection targets are out of reach at the demo's volume, whatever the rule (kpi-floor.ts). */
function printDetectionFloor(): void {
  const perHour = DEMO_DECISIONS_PER_HOUR;
  console.log(
    `detection floor at the demo's ${perHour} decisions an hour, approval rate ${DEMO_APPROVAL_RATE} (at most one false alarm in 4 weeks):`,
  );
  for (const [drop, target] of [
    [0.1, 2],
    [0.3, 0.5],
  ] as const) {
    const f = dropFloor(DEMO_APPROVAL_RATE, drop, perHour, target);
    const within = f.lordenHours <= target ? 'within reach' : 'OUT OF REACH for any rule';
    console.log(
      `  ${drop * 100} % drop, target ${target} h: standard error over ${target} h = ${f.noiseOverDrop.toFixed(2)}x the drop; ` +
        `Lorden's bound ${Math.round(f.lordenDecisions)} decisions = ${f.lordenHours.toFixed(1)} h: ${within}; ` +
        `reaching the target takes at least ${Math.round(f.neededPerHour).toLocaleString('en-US')} decisions an hour`,
    );
  }
}

async function main(): Promise<void> {
  printDetectionFloor();
  const c = new pg.Client({ connectionString: URL_, application_name: 'mlwatch-bench-kpi' });
  await c.connect();
  try {
    await c.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE; CREATE SCHEMA ${SCHEMA}`);
    // Uniform over 29 days, approved with probability 0.6; the index the docs recommend.
    await c.query(`CREATE TABLE ${SCHEMA}.decisions AS
      SELECT now() - random() * interval '29 days' AS decided_at, random() < 0.6 AS approved
      FROM generate_series(1, ${ROWS})`);
    await c.query(`CREATE INDEX ON ${SCHEMA}.decisions (decided_at); ANALYZE ${SCHEMA}.decisions`);

    // The check's counts against FILTER pairs over the same periods, in one snapshot.
    await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const measures = await runRatio(
      { query: async (sql, p) => (await c.query(sql, [...(p ?? [])])).rows },
      check,
      spans,
    );
    const want = (await c.query(FILTERS_SQL)).rows[0] as Record<string, string>;
    await c.query('COMMIT');
    measures.forEach((m, i) => {
      if (m.volume !== Number(want[`n_${i}`]) || (m.hits ?? 0) !== Number(want[`k_${i}`]))
        throw new Error(
          `period ${i}: ${m.volume}/${m.hits} rows, FILTER pairs say ${want[`n_${i}`]}/${want[`k_${i}`]}`,
        );
    });
    const read = Number((await c.query(COUNT_SQL)).rows[0].n);

    // Serial plans on every side: Postgres runs the bare count with parallel workers and the check's GROUP BY
    // without (too few groups to pay for a gather), which would compare plans, not the work per row.
    await c.query('SET max_parallel_workers_per_gather = 0');
    const sides: Record<string, () => Promise<unknown>> = {
      check: () => c.query(check.sql, check.params),
      count: () => c.query(COUNT_SQL),
      filters: () => c.query(FILTERS_SQL),
    };
    const times: Record<string, number[]> = { check: [], count: [], filters: [] };
    for (const f of Object.values(sides)) await f(); // warm-up
    const names = Object.keys(sides);
    for (let r = 0; r < R; r++) {
      for (let j = 0; j < names.length; j++) {
        const name = names[(r + j) % names.length] as string;
        const t = performance.now();
        await (sides[name] as () => Promise<unknown>)();
        (times[name] as number[]).push(performance.now() - t);
      }
    }
    const per = (a: string) =>
      (times[a] as number[]).map((t, i) => t / ((times.count as number[])[i] as number));
    console.log(
      `KPI ratio check: ${spans.length} periods on ${ROWS.toLocaleString('en-US')} rows, ${read.toLocaleString('en-US')} in the stretches it reads; ${R} rounds`,
    );
    for (const n of names) console.log(`  ${n.padEnd(8)} ${line(stats(times[n] as number[]))}`);
    console.log(`  check / count(*)       ${x(stats(per('check')).median)} (median of the rounds' ratios)`);
    console.log(`  FILTER pairs / count(*) ${x(stats(per('filters')).median)}`);
  } finally {
    await c.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`).catch(() => {});
    await c.end();
  }
}

main().catch((err: unknown) => {
  console.error(`bench/kpi: ${(err as Error).message}`);
  process.exit(1);
});
