/**
 * mlwatch bench: the check kinds the other benches do not hold against the pandas peer yet (issue 14), each
 * against what users do instead (pull the rows with pandas.read_sql, compute with scikit-learn or numpy) in the
 * same rounds: dataset duplicates, regression performance, per-segment performance, prediction drift and the
 * job statement, on 1,000,000 rows each. Before anything is timed the check's values must equal the peer's;
 * then each kind's check, peer and floors (the work no exact statement can skip, bench/peer-kinds-defs.ts)
 * run alternately, and the report gives per kind the check against the peer (target 0.5x) and against its
 * floors. Runs against a real PostgreSQL in a schema of its own (mlwatch_bench_peers, dropped at the start and
 * at the end); see bench/README.md.
 *
 *   npx tsx bench/peer-kinds.ts   (MLWATCH_BENCH_DATABASE_URL, default postgresql://postgres@127.0.0.1:5432/test)
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import type { Exporter } from '../src/runtime/exporter.js';
import {
  benchConfig,
  finish,
  loadSteps,
  openBench,
  type RecordedStatement,
  runChecked,
  startBenchExporter,
  startedUp,
  Watchdog,
  writeFigures,
} from './harness.js';
import { type PeerResult, peerMissing, runPeer } from './pandas-peer.js';
import { configBody, type Kind, kindsOf } from './peer-kinds-defs.js';
import { type KindSamples, report } from './peer-kinds-report.js';
import { loadTables, ROWS, tablesOf } from './peer-kinds-tables.js';
import { explain, type PlanSummary } from './plan-summary.js';
import { compareSeries, parseExposition } from './series-compare.js';
import { stats } from './stats.js';

const URL_ = process.env.MLWATCH_BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';
const SCHEMA = 'mlwatch_bench_peers';
const APP = `mlwatch-bench-peers-${process.pid}`;
const OUT_FILE = fileURLToPath(new URL('../.bench/peer-kinds.json', import.meta.url));
const R = 5; // timed rounds at most
const R_MIN = 3; // timed rounds at least, whatever the budget says
const DEADLINE_MS = 600_000;
// No row is this close under a window's edge (bench/window-gaps.ts): longer than the run can last.
const GAP_S = DEADLINE_MS / 1000 + 60;
// The peer's session as the check's transaction sets its own (src/warehouse/pg.ts turns JIT off): the
// comparison is where the work is done, not which server settings each side ran with.
const PEER_OPTIONS = '-c jit=off';

/** The peer once: its time without the reference's pull (the check caches its reference; a user would too). */
async function peerOnce(k: Kind): Promise<{ ms: number; r: PeerResult }> {
  const r = await runPeer({ ...k.peer, url: URL_, app: APP, options: PEER_OPTIONS });
  return { ms: r.pullMs - (r.refPullMs ?? 0) + r.computeMs, r };
}

async function timeFloor(db: pg.Client, sql: string, params: unknown[]): Promise<number> {
  const t0 = performance.now();
  await db.query(sql, params);
  return performance.now() - t0;
}

/** The check's series against the peer's values; prints every mismatch and throws when there is one. */
async function verify(e: Exporter, k: Kind, peer: PeerResult, when: string): Promise<number> {
  const expected = k.expected(peer.values);
  const wrong = compareSeries(parseExposition(await e.metricsText()), expected, k.families, k.subject);
  if (wrong.length > 0) {
    console.error(`${k.name}: the check's values differ from the peer's (${when}):`);
    for (const w of wrong.slice(0, 40)) console.error(`  ${w}`);
    if (wrong.length > 40) console.error(`  ... and ${wrong.length - 40} more`);
    throw new Error(`${k.name}: ${wrong.length} of ${expected.length} values differ from the peer's`);
  }
  return expected.length;
}

const loadAverage = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

async function main(dog: Watchdog): Promise<void> {
  const { db, version, cpus } = await openBench(URL_, APP, {
    title: 'check kinds against the pandas peer',
    schema: SCHEMA,
  });
  const peerWhy = await peerMissing();
  if (peerWhy !== undefined) {
    await db.end();
    throw new Error(`this bench is the peer comparison and cannot run without it: ${peerWhy}`);
  }
  const loads: Record<string, string> = { start: loadAverage() };
  console.log(`load average (1, 5, 15 min) at the start: ${loads.start}`);
  const t = tablesOf(SCHEMA);
  const kinds = kindsOf(t);
  const transactions: RecordedStatement[][] = [];
  let e: Exporter | undefined;
  try {
    // The floors and the plans run as the checks do: without JIT.
    await db.query('SET jit = off');
    const { load, timed } = loadSteps();
    await loadTables(db, t, GAP_S, timed);
    console.log(
      `loaded ${load.map((l) => `${l.step} ${l.seconds.toFixed(1)} s`).join(', ')}; every window's rows stay put for ${GAP_S} s`,
    );
    const cfg = benchConfig({ url: URL_, app: APP, statementTimeout: '600s' }, configBody(t));
    // Only the measured checks: the rest each model gets (labels, performance, reference errors) would only
    // lengthen the start-up round.
    cfg.checks = cfg.checks.filter((c) => kinds.some((k) => k.checkId === c.id));
    if (cfg.checks.length !== kinds.length)
      throw new Error(`the config made ${cfg.checks.length} of the checks`);
    const startT0 = performance.now();
    e = startBenchExporter(cfg, transactions);
    const ex = e;
    // The start-up round runs every check once (the prediction drift computes its reference then): the warm-up.
    await startedUp(ex);
    const startupMs = performance.now() - startT0;
    for (const s of ex.cachedChecks())
      if (s.status !== 'ok') throw new Error(`check ${s.check.id} is ${s.status}: ${s.lastError ?? ''}`);

    // Values first: each peer once (its warm-up), held against the check's start-up values.
    const compared: Record<string, number> = {};
    for (const k of kinds)
      compared[k.name] = await verify(ex, k, (await peerOnce(k)).r, 'after the start-up round');
    console.log(
      `the check's values equal the peer's: ${kinds.map((k) => `${k.name} ${compared[k.name]}`).join(', ')} series`,
    );
    loads.rounds = loadAverage();
    console.log(`load average when the rounds start: ${loads.rounds}`);

    const samples: Record<string, KindSamples> = Object.fromEntries(
      kinds.map((k) => [
        k.name,
        {
          check: [],
          peer: [],
          peerPull: [],
          peerCompute: [],
          peerRefPull: [],
          floors: k.floors.map(() => []),
        },
      ]),
    );
    const lastPeer: Record<string, PeerResult> = {};
    const sent: Record<string, RecordedStatement[]> = {};
    const sides = (k: Kind): Array<() => Promise<void>> => {
      const s = samples[k.name] as KindSamples;
      return [
        async () => {
          s.check.push(await runChecked(ex, k.checkId));
          sent[k.name] = transactions.at(-1) ?? [];
        },
        async () => {
          const p = await peerOnce(k);
          s.peer.push(p.ms);
          s.peerPull.push(p.r.pullMs - (p.r.refPullMs ?? 0));
          s.peerCompute.push(p.r.computeMs);
          if (p.r.refPullMs !== undefined) s.peerRefPull.push(p.r.refPullMs);
          lastPeer[k.name] = p.r;
        },
        ...k.floors.map((f, i) => async () => {
          (s.floors[i] as number[]).push(await timeFloor(db, f.sql, f.params));
        }),
      ];
    };
    let rounds = 0;
    const roundMs: number[] = [];
    for (let i = 0; i < R; i++) {
      if (i >= R_MIN) {
        // What comes after the rounds: a plan of each check (about twice its run) and the cleanup.
        const after = kinds.reduce((a, k) => a + 2 * stats((samples[k.name] as KindSamples).check).median, 0);
        if (dog.deadlineMs - dog.elapsed() < 1.3 * Math.max(...roundMs) + after + 20_000) break;
      }
      const t0 = performance.now();
      for (const k of kinds) {
        // Each kind's sides in a rotating order, so drift and a warm cache fall on every side alike.
        const run = sides(k);
        for (let j = 0; j < run.length; j++) await (run[(i + j) % run.length] as () => Promise<void>)();
      }
      roundMs.push(performance.now() - t0);
      rounds++;
    }
    loads.end = loadAverage();
    // And once more after the rounds, with the last values of each side.
    for (const k of kinds) await verify(ex, k, lastPeer[k.name] as PeerResult, 'after the rounds');

    // The statement each check ran last (the only one, once the prediction drift's reference is cached).
    const plans: Record<string, PlanSummary> = {};
    for (const k of kinds) {
      const st = sent[k.name]?.at(-1);
      if (st) plans[k.name] = await explain(db, st.sql, st.params);
    }
    const settings = (
      await db.query(
        `SELECT current_setting('work_mem') AS work_mem, current_setting('max_parallel_workers_per_gather') AS workers,
                current_setting('shared_buffers') AS shared_buffers`,
      )
    ).rows[0] as Record<string, string>;

    const results = report(kinds, samples, plans, sent, { rounds, startupMs, loads, settings });
    writeFigures(
      OUT_FILE,
      {
        at: new Date().toISOString(),
        postgres: version,
        node: process.version,
        cpus,
        rows: ROWS,
        gapSeconds: GAP_S,
        load,
        loadAverage: loads,
        settings,
        peerOptions: PEER_OPTIONS,
        rounds,
        roundsPlanned: R,
        startupMs,
        kinds: results,
        // The values both sides agreed on, as the peer computed them in its last run.
        peerValues: Object.fromEntries(kinds.map((k) => [k.name, lastPeer[k.name]?.values])),
      },
      dog.elapsed() / 1000,
    );
    if (results.some((r) => !r.beatsPeer))
      console.log('at least one check is slower than the peer: see its floors and plan above');
  } finally {
    await e?.stop(10_000);
    await db.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`).catch(() => {});
    await db.end().catch(() => {});
  }
  dog.clear();
}

const dog = new Watchdog({ url: URL_, app: APP, schema: SCHEMA }, DEADLINE_MS);
finish(main(dog), () => dog.givingUp);
