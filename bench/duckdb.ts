/**
 * mlwatch bench: a binary classifier's performance check (exact AUC and the rest, windows [14d], latest-label
 * join) on DuckDB over Parquet files, against the pandas/scikit-learn path on the same rows (issue 15's targets:
 * at least 10x faster, and the exact AUC on 1,000,000 predictions under 0.5 s), with the same check on
 * PostgreSQL beside it from bench/model-auc.ts's last saved figures; then segments, regression and prediction
 * drift the same way (bench/duckdb-model-kinds.ts).
 *
 * 1,000,000 predictions over the 13 days before the run, each labeled 1 to 24 hours later, as the model bench
 * generates them, written by DuckDB as Parquet (what the check reads, through warehouse.files) and as CSV (what
 * the peer reads: pandas has no Parquet engine here, pyarrow being in neither Debian 12 nor a reachable index).
 * Rounds alternate the two sides; the check's values are held against the peer's.
 *
 *   npx tsx bench/duckdb.ts
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import {
  compareKind,
  MODEL_KINDS,
  type ModelKind,
  modelKindCheck,
  timedCheck,
  writeModelFiles,
} from './duckdb-model-kinds.js';
import { alternate } from './duckdb-rounds.js';
import { finish, writeFigures } from './harness.js';
import { peerMissing, runPeer } from './pandas-peer.js';
import { line, type Stats, stats, x } from './stats.js';

const ROWS = 1_000_000;
const R = 5;
const DIR = fileURLToPath(new URL('../.bench/duckdb-data/', import.meta.url));
const OUT_FILE = fileURLToPath(new URL('../.bench/duckdb.json', import.meta.url));
const MODEL_BENCH = fileURLToPath(new URL('../.bench/model-auc.json', import.meta.url));
const THRESHOLD = 0.5;

/** The model bench's rows (bench/model-auc.ts), written as Parquet and CSV. */
async function generate(): Promise<void> {
  rmSync(DIR, { recursive: true, force: true });
  mkdirSync(DIR, { recursive: true });
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  await c.run('SELECT setseed(0.15)');
  await c.run(`CREATE TABLE p AS
    SELECT i AS key, now() - INTERVAL 1 SECOND - INTERVAL 13 DAY * random() AS ts,
           ((i * 7919) % 10000000 + 0.5) / 10000000.0 AS s
    FROM range(1, ${ROWS + 1}) t(i)`);
  await c.run(`CREATE TABLE l AS
    SELECT key, ts + INTERVAL 1 HOUR + INTERVAL 23 HOUR * random() AS lt, random() < s AS y FROM p`);
  for (const [t, name] of [
    ['p', 'predictions'],
    ['l', 'labels'],
  ]) {
    await c.run(`COPY ${t} TO '${DIR}${name}.parquet' (FORMAT parquet)`);
    // The label as 0/1 for pandas; timestamps in ISO form, which read_csv parses.
    const cols =
      t === 'p'
        ? "key, strftime(ts, '%Y-%m-%dT%H:%M:%S.%fZ') AS ts, s"
        : "key, strftime(lt, '%Y-%m-%dT%H:%M:%S.%fZ') AS lt, y::int AS y";
    await c.run(`COPY (SELECT ${cols} FROM ${t}) TO '${DIR}${name}.csv' (FORMAT csv, HEADER)`);
  }
  await writeModelFiles(c, DIR, ROWS);
  c.closeSync();
  db.closeSync();
}

/** The binary check on its warehouse: run() times one run, values() gives the last run's values by family. */
function check(): {
  close: () => Promise<void>;
  run: () => Promise<number>;
  values: () => Record<string, number>;
} {
  const side = timedCheck(
    `warehouse:
  url: duckdb:memory
  statement_timeout: 120s
  files:
    predictions: { parquet: ${DIR}predictions.parquet }
    labels: { parquet: ${DIR}labels.parquet }
state: { url: pglite:memory }
models:
  - name: bench
    task: binary_classification
    owner: bench
    predictions: { table: files.predictions, key: key, timestamp: ts, score: s }
    labels: { table: files.labels, key: key, timestamp: lt, label: y }
    windows: [14d]
    threshold: ${THRESHOLD}
`,
    DIR,
    'model:bench:performance',
  );
  return {
    close: side.close,
    run: side.run,
    values: () =>
      Object.fromEntries(side.samples().map((s) => [s.name.replace('mlwatch_model_', ''), s.value])),
  };
}

/**
 * The floor: the exact AUC alone over the same files, with the latest label per prediction by arg_max in a
 * GROUP BY and the ranks by rank() (ties averaged from the ranks of the tied block), the shape DuckDB runs
 * fastest; and the latest-label join alone as the check writes it (DISTINCT ON). Each, in ms, after a warm-up.
 */
async function floors(): Promise<{ aucMs: number; distinctOnJoinMs: number; auc: number }> {
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  try {
    await c.run(`CREATE VIEW p AS SELECT * FROM read_parquet('${DIR}predictions.parquet')`);
    await c.run(`CREATE VIEW l AS SELECT * FROM read_parquet('${DIR}labels.parquet')`);
    const auc = `WITH j AS (
        SELECT p.s, arg_max(l.y, l.lt)::int AS y FROM p JOIN l ON l.key = p.key
        WHERE p.ts >= now() - INTERVAL 14 DAY AND p.ts < now() GROUP BY p.key, p.ts, p.s),
      r AS (SELECT y, (rank() OVER (ORDER BY s) + count(*) OVER (PARTITION BY s) * 0.5 - 0.5) AS rk FROM j)
      SELECT (sum(rk) FILTER (WHERE y = 1) - count(*) FILTER (WHERE y = 1) * (count(*) FILTER (WHERE y = 1) + 1) / 2.0)
             / (count(*) FILTER (WHERE y = 1) * count(*) FILTER (WHERE y = 0)) AS auc FROM r`;
    const join = `SELECT count(*) FROM (SELECT DISTINCT ON (p.key, p.ts, p.s) p.s, l.y FROM p LEFT JOIN l ON l.key = p.key
      WHERE p.ts >= now() - INTERVAL 14 DAY ORDER BY p.key, p.ts, p.s, l.lt DESC, l.y DESC)`;
    const timed = async (sql: string) => {
      await c.runAndReadAll(sql);
      const t0 = performance.now();
      const r = await c.runAndReadAll(sql);
      return { ms: performance.now() - t0, row: r.getRowObjectsJS()[0] ?? {} };
    };
    const a = await timed(auc);
    const j = await timed(join);
    return { aucMs: a.ms, distinctOnJoinMs: j.ms, auc: Number(a.row.auc) };
  } finally {
    c.closeSync();
    db.closeSync();
  }
}

async function main(): Promise<void> {
  console.log(
    `mlwatch bench: DuckDB over Parquet (node ${process.version}, ${os.availableParallelism()} CPUs)`,
  );
  const t0 = performance.now();
  await generate();
  console.log(
    `wrote ${ROWS.toLocaleString('en-US')} predictions and their labels in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  const side = check();
  const why = await peerMissing();
  let peerValues: Record<string, number> | undefined;
  const peer = async () => {
    const r = await runPeer({
      kind: 'classification',
      files: { predictions: `${DIR}predictions.csv`, labels: `${DIR}labels.csv` },
      window_s: 14 * 86_400,
      threshold: THRESHOLD,
    });
    if (r.rows !== ROWS) throw new Error(`the peer joined ${r.rows} labeled predictions, expected ${ROWS}`);
    peerValues = r.values;
    return r.pullMs + r.computeMs;
  };
  try {
    const { samples, ratio } = await alternate(side.run, why === undefined ? peer : undefined, R);
    const values = side.values();
    const s: Record<string, Stats> = {};
    for (const [n, v] of Object.entries(samples)) s[n] = stats(v);
    console.log(
      `\n1. classification performance, windows [14d], ${ROWS.toLocaleString('en-US')} labeled predictions, ${R} rounds`,
    );
    console.log(
      `  DuckDB check over Parquet   ${line(s.check as Stats)}   (target: exact AUC under 500 ms: ${(s.check as Stats).median < 500 ? 'PASS' : 'FAIL'})`,
    );
    if (s.peer && peerValues && ratio !== undefined) {
      console.log(`  pandas read_csv + sklearn   ${line(s.peer)}`);
      console.log(
        `  check = ${x(ratio)} the peer per round (target <= 0.1x: ${ratio <= 0.1 ? 'PASS' : 'FAIL'})`,
      );
      for (const [k, peerKey] of [
        ['auc', 'auc'],
        ['log_loss', 'logLoss'],
        ['brier_score', 'brier'],
        ['accuracy', 'accuracy'],
        ['calibration_error', 'calibrationError'],
      ] as const) {
        const a = values[k];
        const b = peerValues[peerKey];
        if (a === undefined || b === undefined || !(Math.abs(a - b) <= 1e-9))
          throw new Error(`the check's ${k} is ${a}, scikit-learn's ${b}`);
      }
      console.log(
        `  the check's AUC, log loss, Brier score, accuracy and calibration error equal scikit-learn's to 1e-9 (AUC ${values.auc})`,
      );
    } else console.log(`  pandas peer: not run: ${why}`);
    const floor = await floors();
    if (!(Math.abs(floor.auc - (values.auc as number)) <= 1e-9))
      throw new Error(`the floor statement's AUC ${floor.auc} is not the check's ${values.auc}`);
    console.log(
      `  floor: the exact AUC alone (arg_max join, rank()) ${floor.aucMs.toFixed(0)} ms; the check's latest-label join alone (DISTINCT ON) ${floor.distinctOnJoinMs.toFixed(0)} ms`,
    );
    let postgres: number | undefined;
    if (existsSync(MODEL_BENCH)) {
      const saved = JSON.parse(readFileSync(MODEL_BENCH, 'utf8')) as {
        auc?: { oneWindowMs?: { median?: number } };
      };
      postgres = saved.auc?.oneWindowMs?.median;
      if (postgres !== undefined)
        console.log(
          `  beside it, the same check on PostgreSQL (bench/model-auc.ts, last saved run): median ${postgres.toFixed(0)} ms`,
        );
    }
    const kinds: Record<string, unknown> = {};
    for (const [i, kind] of MODEL_KINDS.entries()) kinds[kind.name] = await kindRounds(kind, i + 2, why);
    writeFigures(OUT_FILE, {
      rows: ROWS,
      rounds: R,
      stats: s,
      samples,
      ratioToPeer: ratio,
      postgresMs: postgres,
      values,
      kinds,
    });
  } finally {
    await side.close();
  }
}

/** Sections 2 and on: each further model kind against its peer, in alternating rounds. */
async function kindRounds(kind: ModelKind, section: number, why: string | undefined) {
  const side = modelKindCheck(DIR, kind);
  let peerValues: Record<string, number> | undefined;
  const peer = async () => {
    const p = await runPeer(kind.peer(DIR));
    peerValues = p.values;
    return p.pullMs + p.computeMs;
  };
  let rounds: Awaited<ReturnType<typeof alternate>>;
  try {
    // Prediction drift's reference bins are computed in the warm-up run and cached after, as in a served exporter.
    rounds = await alternate(side.run, why === undefined ? peer : undefined, R);
  } finally {
    await side.close();
  }
  const { samples, ratio } = rounds;
  const s: Record<string, Stats> = {};
  for (const [n, v] of Object.entries(samples)) s[n] = stats(v);
  console.log(
    `\n${section}. ${kind.what}, windows [1d, 7d, 14d], ${ROWS.toLocaleString('en-US')} predictions, ${R} rounds`,
  );
  console.log(`  DuckDB check over Parquet   ${line(s.check as Stats)}`);
  if (s.peer && peerValues && ratio !== undefined) {
    console.log(`  pandas read_csv + numpy/sklearn   ${line(s.peer)}`);
    console.log(
      `  check = ${x(ratio)} the peer per round (target <= 0.1x: ${ratio <= 0.1 ? 'PASS' : 'FAIL'})`,
    );
    const n = compareKind(kind, side.samples(), peerValues);
    console.log(`  the check's ${n} values equal the peer's`);
  } else console.log(`  pandas peer: not run: ${why}`);
  return { stats: s, samples, ratioToPeer: ratio };
}

finish(main());
