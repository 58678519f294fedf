/**
 * mlwatch bench: the classification performance check (exact AUC, log loss, Brier, confusion counts, calibration)
 * on 1,000,000 labeled predictions with distinct scores, against a bare `ORDER BY score` of the same joined rows
 * (an exact AUC needs the scores in order, so a sort is its floor), one window against three in one statement,
 * and against pulling the rows into Node and computing there, all measured in the same run; then the
 * exporter's memory from 100,000 predictions to the largest size the time budget allows, each in a fresh
 * process. Runs against a real PostgreSQL, in a schema of its own (mlwatch_bench_model, dropped at the start
 * and at the end); see bench/README.md.
 *
 *   npx tsx bench/model-auc.ts   (MLWATCH_BENCH_DATABASE_URL, default postgresql://postgres@127.0.0.1:5432/test)
 */
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { hanleyMcNeilStderr } from '../src/checks/model/classification-sql.js';
import { joinedCte, modelContext } from '../src/checks/model/context.js';
import type { LoadedConfig } from '../src/config/load.js';
import type { Exporter } from '../src/runtime/exporter.js';
import { SqlBuilder } from '../src/sql/builder.js';
import {
  benchConfig,
  checkState,
  count,
  loadSteps,
  type MemoryChildSpec,
  type MemoryFigures,
  measureMemory,
  memoryChild,
  memoryReport,
  mib,
  openBench,
  pairedRatio,
  pass,
  perRound,
  type RecordedStatement,
  round3,
  rounded,
  runBench,
  runChecked,
  startBenchExporter,
  startedUp,
  type Watchdog,
  writeFigures,
} from './harness.js';
import { type PeerResult, peerMissing, runPeer } from './pandas-peer.js';
import { explain, type PlanSummary } from './plan-summary.js';
import { line, ms, stats, x } from './stats.js';

const URL_ = process.env.MLWATCH_BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';
const SCHEMA = 'mlwatch_bench_model';
const PREDICTIONS = `${SCHEMA}.predictions`;
const LABELS = `${SCHEMA}.labels`;
const ROWS = 1_000_000; // the timed comparison
const MEM_SMALL = 100_000;
// The largest memory size: the first of these that the rates seen so far say fits in the time budget (1,000,000,
// already loaded, when none does). MLWATCH_BENCH_MODEL_MEMORY_ROWS forces one and extends the budget for it.
const MEM_BIG = [10_000_000, 5_000_000, 2_000_000];
const FORCED_BIG = Number(process.env.MLWATCH_BENCH_MODEL_MEMORY_ROWS ?? 0) || undefined;
const R = 7; // timed rounds at most
const R_MIN = 3; // timed rounds at least, whatever the budget says
const MEM_RUNS = 2; // check runs per memory measurement (the first is the exporter's start-up round)
const DEADLINE_MS = 240_000;
const SPAN_DAYS = 13; // predictions spread over the 13 days before loading: all inside 14d, 1/13 inside 1d
// Scores ((i * 7919) mod 10^7 + 0.5) / 10^7: distinct for every key up to 10,000,000, spread over (0, 1).
const SCORE_MOD = 10_000_000;
const THRESHOLD = 0.5;
const ONE = 'model:one:performance'; // windows [14d]
const THREE = 'model:three:performance'; // windows [1d, 7d, 14d]
const LABELS_ONE = 'model:one:labels'; // counts, coverage, leakage, delay percentiles over [14d]
const CHILD_ENV = 'MLWATCH_BENCH_MODEL_CHILD';
// The application_name of every connection of this run, the memory children's included, so the watchdog can
// end exactly those.
const APP = process.env[`${CHILD_ENV}_APP`] ?? `mlwatch-bench-model-${process.pid}`;
const OUT_FILE = fileURLToPath(new URL('../.bench/model-auc.json', import.meta.url));
const MEMORY_CHILD: MemoryChildSpec = {
  script: fileURLToPath(import.meta.url),
  env: CHILD_ENV,
  app: APP,
  noun: 'predictions',
};

// ---------------------------------------------------------------------------------------------------------
// the exporter

const MODELS = {
  one: '[14d]',
  three: '[1d, 7d, 14d]',
} as const;

/**
 * An mlwatch config with the given models over the bench tables (interval 1h: after the start-up round a check
 * runs only when runNow asks). Only the performance checks are kept: the labels check each model also gets is
 * not what is measured here, and would only add its own run to the start-up round.
 */
function config(models: Array<keyof typeof MODELS>): LoadedConfig {
  const body = `models:
${models
  .map(
    (name) => `  - name: ${name}
    task: binary_classification
    owner: bench
    predictions: { table: ${PREDICTIONS}, key: key, timestamp: predicted_at, score: score }
    labels: { table: ${LABELS}, key: key, timestamp: observed_at, label: label }
    windows: ${MODELS[name]}
    threshold: ${THRESHOLD}
    interval: 1h
`,
  )
  .join('')}`;
  const loaded = benchConfig({ url: URL_, app: APP, statementTimeout: '600s' }, body);
  // The labels check of model one is measured too (against the peer's label statistics).
  loaded.checks = loaded.checks.filter((c) => c.id.endsWith(':performance') || c.id === LABELS_ONE);
  return loaded;
}

function startExporter(models: Array<keyof typeof MODELS>, transactions: RecordedStatement[][]): Exporter {
  return startBenchExporter(config(models), transactions);
}

/** The value of one series in the exposition, found by its name and the label pairs it must carry. */
function gauge(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const l of text.split('\n')) {
    if (!l.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)))
      return Number(l.split(' ').at(-1));
  }
  return undefined;
}

/** One run of a check by runNow, checked: it ran once, succeeded, and sent one statement. */
async function runCheck(e: Exporter, id: string, transactions: RecordedStatement[][]): Promise<number> {
  const t = await runChecked(e, id);
  const sent = transactions.at(-1) ?? [];
  if (sent.length !== 1) throw new Error(`check ${id} sent ${sent.length} statements, expected 1`);
  return t;
}

// ---------------------------------------------------------------------------------------------------------
// the tables

async function createTables(db: pg.Client): Promise<void> {
  await db.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  await db.query(`CREATE SCHEMA ${SCHEMA}`);
  // UNLOGGED: loading writes no WAL; reading is the same as reading a logged table. No autovacuum: the bench
  // vacuums when it wants to, and a worker waking up mid-round would only add noise.
  await db.query(
    `CREATE UNLOGGED TABLE ${PREDICTIONS} (key bigint NOT NULL, predicted_at timestamptz NOT NULL, score float8 NOT NULL)
     WITH (autovacuum_enabled = off)`,
  );
  await db.query(
    `CREATE UNLOGGED TABLE ${LABELS} (key bigint NOT NULL, observed_at timestamptz NOT NULL, label boolean NOT NULL)
     WITH (autovacuum_enabled = off)`,
  );
}

/**
 * Keys first..last: a prediction each, made at a random moment of the 13 days before now() (so it stays in the
 * 14d window for the whole run), and one label, observed 1 hour to 1 day later, positive with probability
 * equal to the score (a calibrated model; AUC about 0.83). Seeded: every run loads the same rows.
 */
async function insertRows(db: pg.Client, first: number, last: number): Promise<void> {
  await db.query('SELECT setseed($1)', [(first % 1000) / 1000]);
  await db.query(
    `INSERT INTO ${PREDICTIONS}
     SELECT i, now() - interval '1 second' - interval '${SPAN_DAYS} days' * random(),
            ((i * 7919) % ${SCORE_MOD} + 0.5) / ${SCORE_MOD}::float8
     FROM generate_series($1::bigint, $2::bigint) AS i`,
    [first, last],
  );
  await db.query(
    `INSERT INTO ${LABELS}
     SELECT key, predicted_at + interval '1 hour' + interval '23 hours' * random(), random() < score
     FROM ${PREDICTIONS} WHERE key BETWEEN $1 AND $2`,
    [first, last],
  );
}

// ---------------------------------------------------------------------------------------------------------
// the statements compared with the check, and the computation in Node

/** The check's `joined` CTE for one window of 14d, exactly as the check builds it. */
function joined14d(): { sql: string; params: unknown[] } {
  const b = new SqlBuilder();
  const m = modelContext(
    {
      name: 'bench',
      task: 'binary_classification',
      owner: 'bench',
      predictions: { table: PREDICTIONS, key: 'key', timestamp: 'predicted_at', score: 'score' },
      labels: { table: LABELS, key: 'key', timestamp: 'observed_at', label: 'label' },
      windows: [{ label: '14d', ms: 14 * 86_400_000 }],
      threshold: THRESHOLD,
    },
    { everyMs: 3_600_000 },
    600_000,
  );
  const sql = joinedCte(m, b);
  return { sql, params: b.params };
}

interface NodeMetrics {
  n: number;
  auc: number;
  aucStderr: number;
  logLoss: number;
  brier: number;
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
  calibrationError: number;
  predictedPositiveRate: number;
  actualPositiveRate: number;
}

/**
 * The same metrics as the check, from [score, label] rows in Node: the positives' and the negatives' scores each
 * sorted (typed arrays, numeric sort without a comparator), then merged for the Mann-Whitney count with ties
 * counted half; the rest in the same pass that splits the rows. A fair, fast implementation: no row objects,
 * no comparator sort.
 */
function metricsInNode(rows: unknown[][], threshold: number): NodeMetrics {
  let nPos = 0;
  for (const r of rows) if (r[1] === 1) nPos++;
  const pos = new Float64Array(nPos);
  const neg = new Float64Array(rows.length - nPos);
  let ip = 0;
  let ineg = 0;
  let logLoss = 0;
  let brier = 0;
  let tp = 0;
  let fp = 0;
  const binScore = new Float64Array(10);
  const binPos = new Float64Array(10);
  const eps = 1e-15;
  for (const r of rows) {
    const s = r[0] as number;
    const y = r[1] as number;
    if (y === 1) pos[ip++] = s;
    else neg[ineg++] = s;
    const c = Math.max(eps, Math.min(1 - eps, s));
    logLoss -= y === 1 ? Math.log(c) : Math.log(1 - c);
    brier += (y - s) * (y - s);
    if (s >= threshold) {
      if (y === 1) tp++;
      else fp++;
    }
    const b = Math.max(0, Math.min(9, Math.floor(s * 10)));
    binScore[b] = (binScore[b] as number) + s;
    binPos[b] = (binPos[b] as number) + y;
  }
  pos.sort();
  neg.sort();
  let aucNum = 0;
  let below = 0;
  for (let i = 0; i < pos.length; ) {
    const v = pos[i] as number;
    let j = i;
    while (j < pos.length && pos[j] === v) j++;
    while (below < neg.length && (neg[below] as number) < v) below++;
    let ties = below;
    while (ties < neg.length && neg[ties] === v) ties++;
    aucNum += (j - i) * (below + (ties - below) / 2);
    i = j;
  }
  const n = rows.length;
  const nNeg = n - nPos;
  const auc = aucNum / (nPos * nNeg);
  let calibration = 0;
  for (let b = 0; b < 10; b++) calibration += Math.abs((binScore[b] as number) - (binPos[b] as number));
  const precision = tp / (tp + fp);
  const recall = tp / nPos;
  return {
    n,
    auc,
    aucStderr: hanleyMcNeilStderr(auc, nPos, nNeg),
    logLoss: logLoss / n,
    brier: brier / n,
    accuracy: (tp + (nNeg - fp)) / n,
    precision,
    recall,
    f1: (2 * precision * recall) / (precision + recall),
    calibrationError: calibration / n,
    predictedPositiveRate: (tp + fp) / n,
    actualPositiveRate: nPos / n,
  };
}

// ---------------------------------------------------------------------------------------------------------
// 1. the check against a bare sort, one window against three, and against Node, on 1,000,000 predictions

interface Budget {
  /** Milliseconds left before the deadline. */
  left(): number;
}

async function benchAuc(db: pg.Client, budget: Budget, withPeer: boolean) {
  const transactions: RecordedStatement[][] = [];
  const { sql: cte, params: cteParams } = joined14d();
  // The floor: the check's own joined rows, the labeled ones sorted by score, consumed in the server. OFFSET 0
  // keeps the sort from being planned away under count(*).
  const sortSql = `WITH ${cte}
SELECT count(*) AS n FROM (SELECT s FROM joined WHERE y IS NOT NULL ORDER BY s OFFSET 0) t`;
  const joinedOnlySql = `WITH ${cte}
SELECT count(*) AS n FROM joined WHERE y IS NOT NULL`;
  const pullSql = `WITH ${cte}
SELECT s, y FROM joined WHERE y IS NOT NULL`;
  // Every prediction of the window, labeled or not, with both times as epoch seconds: the labels check's input.
  const labelsPullSql = `WITH ${cte}
SELECT extract(epoch FROM pt)::float8 AS pt, extract(epoch FROM lt)::float8 AS lt, y FROM joined`;

  const startupT0 = performance.now();
  const e = startExporter(['one', 'three'], transactions);
  try {
    await startedUp(e);
    const startupMs = performance.now() - startupT0;
    for (const id of [ONE, THREE]) {
      const s = e.cachedChecks().find((st) => st.check.id === id);
      if (s?.status !== 'ok') throw new Error(`check ${id} is ${s?.status}: ${s?.lastError ?? ''}`);
    }

    const statements: Partial<Record<'one' | 'three', RecordedStatement>> = {};
    let lastNode: NodeMetrics | undefined;
    let lastPeer: PeerResult | undefined;
    let lastLabelsPeer: PeerResult | undefined;
    const peerParts = { pull: [] as number[], compute: [] as number[] };
    let pulledRows = 0;
    const parts = { pull: [] as number[], compute: [] as number[] };
    const sides = {
      sort: async () => {
        const t0 = performance.now();
        const r = await db.query(sortSql, cteParams);
        const t = performance.now() - t0;
        if (Number(r.rows[0]?.n) !== ROWS)
          throw new Error(`the sort saw ${r.rows[0]?.n} rows, expected ${ROWS}`);
        return t;
      },
      one: async () => {
        const t = await runCheck(e, ONE, transactions);
        statements.one = transactions.at(-1)?.[0];
        return t;
      },
      three: async () => {
        const t = await runCheck(e, THREE, transactions);
        statements.three = transactions.at(-1)?.[0];
        return t;
      },
      node: async () => {
        const t0 = performance.now();
        const r = await db.query({ text: pullSql, values: cteParams, rowMode: 'array' });
        const t1 = performance.now();
        lastNode = metricsInNode(r.rows as unknown[][], THRESHOLD);
        const t = performance.now() - t0;
        parts.pull.push(t1 - t0);
        parts.compute.push(t - (t1 - t0));
        pulledRows = r.rows.length;
        if (pulledRows !== ROWS) throw new Error(`pulled ${pulledRows} rows into Node, expected ${ROWS}`);
        return t;
      },
      labels: () => runCheck(e, LABELS_ONE, transactions),
      pandasLabels: async () => {
        lastLabelsPeer = await runPeer({ url: URL_, kind: 'labels', sql: labelsPullSql, params: cteParams });
        return lastLabelsPeer.pullMs + lastLabelsPeer.computeMs;
      },
      // What users do instead: the same joined rows into pandas, the metrics from scikit-learn.
      pandas: async () => {
        lastPeer = await runPeer({
          url: URL_,
          kind: 'classification',
          sql: pullSql,
          params: cteParams,
          threshold: THRESHOLD,
        });
        if (lastPeer.rows !== ROWS)
          throw new Error(`the pandas peer pulled ${lastPeer.rows} rows, expected ${ROWS}`);
        peerParts.pull.push(lastPeer.pullMs);
        peerParts.compute.push(lastPeer.computeMs);
        return lastPeer.pullMs + lastPeer.computeMs;
      },
    };
    const names = (Object.keys(sides) as Array<keyof typeof sides>).filter(
      (k) => withPeer || (k !== 'pandas' && k !== 'pandasLabels'),
    );
    const samples: Record<keyof typeof sides, number[]> = {
      sort: [],
      one: [],
      three: [],
      node: [],
      labels: [],
      pandasLabels: [],
      pandas: [],
    };
    // No separate warm-up: the exporter's start-up round has just run both checks, which read both tables into
    // shared buffers and ran the same joins; every side's first timed run is in a different round position.
    // What the rest needs after the rounds: the plans (about one run of each statement, and the joined rows
    // alone), the memory children, the largest load, cleanup. A round is only started if it fits.
    let rounds = 0;
    let stoppedEarly = false;
    const roundMs: number[] = [];
    for (let i = 0; i < R; i++) {
      const med = (k: keyof typeof sides) => stats(samples[k]).median;
      if (i >= R_MIN) {
        const round = Math.max(...roundMs);
        const after = 2 * med('sort') + med('one') + med('three') + MEM_RUNS * med('three') + 25_000;
        if (budget.left() < round + after) {
          stoppedEarly = true;
          break;
        }
      }
      const t0 = performance.now();
      // Interleaved, rotating which goes first, so drift and any warm-cache advantage fall on every side alike.
      for (let j = 0; j < names.length; j++) {
        const k = names[(i + j) % names.length] as keyof typeof sides;
        samples[k].push(await sides[k]());
      }
      roundMs.push(performance.now() - t0);
      rounds++;
    }

    // The exported metrics of the last run of ONE, against Node's computation from the same rows.
    const text = await e.metricsText();
    const node = lastNode as NodeMetrics;
    const at14d = { model: 'one', window: '14d' };
    const compared = {
      auc: [gauge(text, 'mlwatch_model_auc', at14d), node.auc],
      aucStderr: [gauge(text, 'mlwatch_model_auc_stderr', at14d), node.aucStderr],
      logLoss: [gauge(text, 'mlwatch_model_log_loss', at14d), node.logLoss],
      brier: [gauge(text, 'mlwatch_model_brier_score', at14d), node.brier],
      accuracy: [gauge(text, 'mlwatch_model_accuracy', at14d), node.accuracy],
      precision: [gauge(text, 'mlwatch_model_precision', at14d), node.precision],
      recall: [gauge(text, 'mlwatch_model_recall', at14d), node.recall],
      calibrationError: [gauge(text, 'mlwatch_model_calibration_error', at14d), node.calibrationError],
    } as Record<string, [number | undefined, number]>;
    for (const [k, [check, js]] of Object.entries(compared)) {
      if (check === undefined || !(Math.abs(check - js) <= 1e-9 * Math.max(1, Math.abs(js))))
        throw new Error(`the check's ${k} is ${check}, Node computed ${js} from the same rows`);
    }
    // scikit-learn's values from the same rows: the check's must equal them too.
    const sklearn = lastPeer?.values ?? {};
    for (const k of ['auc', 'logLoss', 'brier', 'accuracy', 'precision', 'recall', 'calibrationError']) {
      const [check] = compared[k] as [number | undefined, number];
      const want = sklearn[k];
      if (
        withPeer &&
        (check === undefined ||
          want === undefined ||
          !(Math.abs(check - want) <= 1e-9 * Math.max(1, Math.abs(want))))
      )
        throw new Error(`the check's ${k} is ${check}, scikit-learn computed ${want} from the same rows`);
    }
    // The labels check's figures against numpy's from the same rows (delays in seconds, to a microsecond).
    if (withPeer) {
      const lv = lastLabelsPeer?.values ?? {};
      const at = { model: 'one', window: '14d' };
      const labelPairs: Array<[string, number | undefined, number | undefined, number]> = [
        ['predictions', gauge(text, 'mlwatch_model_predictions', at), lv.n, 0],
        ['labeled', gauge(text, 'mlwatch_model_labeled_predictions', at), lv.labeled, 0],
        ['coverage', gauge(text, 'mlwatch_model_label_coverage_ratio', at), lv.coverage, 1e-12],
        ['leakage', gauge(text, 'mlwatch_model_label_leakage_rows', at), lv.leak, 0],
        [
          'delay p50',
          gauge(text, 'mlwatch_model_label_delay_seconds', { ...at, percentile: '50' }),
          lv.d50,
          1e-6,
        ],
        [
          'delay p95',
          gauge(text, 'mlwatch_model_label_delay_seconds', { ...at, percentile: '95' }),
          lv.d95,
          1e-6,
        ],
      ];
      for (const [what, check, peer, tol] of labelPairs)
        if (check === undefined || peer === undefined || !(Math.abs(check - peer) <= tol))
          throw new Error(
            `the labels check's ${what} is ${check}, numpy computed ${peer} from the same rows`,
          );
    }
    for (const w of ['1d', '7d', '14d']) {
      const v = gauge(text, 'mlwatch_model_auc', { model: 'three', window: w });
      if (v === undefined || !(v > 0.7 && v < 0.95)) throw new Error(`model three's AUC over ${w} is ${v}`);
    }
    const three = e.cachedChecks().find((s) => s.check.id === THREE);

    const one = statements.one;
    const threeSt = statements.three;
    if (!one || !threeSt) throw new Error('the checks sent no statement');
    const plans = {
      sort: await explain(db, sortSql, cteParams),
      joinedOnly: await explain(db, joinedOnlySql, cteParams),
      one: await explain(db, one.sql, one.params),
      three: await explain(db, threeSt.sql, threeSt.params),
    };
    const settings = await db.query(
      `SELECT current_setting('max_parallel_workers_per_gather') AS workers, current_setting('work_mem') AS work_mem,
              current_setting('shared_buffers') AS shared_buffers, current_setting('jit') AS jit,
              pg_relation_size('${PREDICTIONS}') + pg_relation_size('${LABELS}') AS heap_bytes`,
    );
    const s = settings.rows[0] as Record<string, unknown>;
    return {
      startupMs,
      rounds,
      stoppedEarly,
      statements: {
        one: { sql: one.sql, params: one.params },
        three: { sql: threeSt.sql, params: threeSt.params },
      },
      threeSeries: three?.seriesCount ?? 0,
      node,
      compared: Object.fromEntries(Object.entries(compared).map(([k, [a, b]]) => [k, { check: a, node: b }])),
      pulledRows,
      parallelWorkersPerGather: Number(s.workers),
      workMem: String(s.work_mem),
      sharedBuffers: String(s.shared_buffers),
      jit: String(s.jit),
      heapBytes: Number(s.heap_bytes),
      plans,
      pull: stats(parts.pull),
      compute: stats(parts.compute),
      sort: stats(samples.sort),
      one: stats(samples.one),
      three: stats(samples.three),
      nodeSide: stats(samples.node),
      pandasSide: withPeer ? stats(samples.pandas) : undefined,
      labelsSide: stats(samples.labels),
      pandasLabelsSide: withPeer ? stats(samples.pandasLabels) : undefined,
      pairedLabelsToPandas: withPeer ? pairedRatio(samples.labels, samples.pandasLabels) : undefined,
      peerPull: withPeer ? stats(peerParts.pull) : undefined,
      peerCompute: withPeer ? stats(peerParts.compute) : undefined,
      pairedOneToPandas: withPeer ? pairedRatio(samples.one, samples.pandas) : undefined,
      pairedThreeToPandas: withPeer ? pairedRatio(samples.three, samples.pandas) : undefined,
      // Each round's ratio: steadier than a ratio of medians when the machine's load shifts during the run.
      pairedOneToSort: pairedRatio(samples.one, samples.sort),
      pairedThreeToOne: pairedRatio(samples.three, samples.one),
      pairedNodeToOne: pairedRatio(samples.node, samples.one),
      raw: samples,
    };
  } finally {
    await e.stop(10_000);
  }
}

// ---------------------------------------------------------------------------------------------------------
// 2. exporter memory, in a fresh process per size

/** Runs in the child: start an exporter (model three), run its check MEM_RUNS times, report memory as JSON. */
function memoryChildRun(rows: number): Promise<void> {
  return memoryChild({
    rows,
    runs: MEM_RUNS,
    start: (transactions) => startExporter(['three'], transactions),
    async run(e, transactions) {
      await startedUp(e);
      const state = checkState(e, THREE);
      if (state.status !== 'ok')
        throw new Error(`check ${THREE} is ${state.status}: ${state.lastError ?? ''}`);
      const checkMs = [(state.lastDurationSeconds ?? 0) * 1000];
      for (let i = 1; i < MEM_RUNS; i++) checkMs.push(await runCheck(e, THREE, transactions));
      if (state.runs !== MEM_RUNS) throw new Error(`the check ran ${state.runs} times, expected ${MEM_RUNS}`);
      const text = await e.metricsText();
      const n = gauge(text, 'mlwatch_model_auc', { model: 'three', window: '14d' });
      if (n === undefined) throw new Error('no AUC exported for the 14d window');
      return checkMs;
    },
  });
}

// ---------------------------------------------------------------------------------------------------------

async function main(dog: Watchdog): Promise<void> {
  const elapsed = () => dog.elapsed();
  const { db, version, cpus } = await openBench(URL_, APP, { title: 'model AUC', schema: SCHEMA });

  let auc: Awaited<ReturnType<typeof benchAuc>>;
  const memory: MemoryFigures[] = [];
  const { load, timed } = loadSteps();
  const peerWhy = await peerMissing();
  let forcedNote = '';
  try {
    await createTables(db);
    await timed('generate', MEM_SMALL, () => insertRows(db, 1, MEM_SMALL));
    await timed('vacuum', MEM_SMALL, () => db.query(`VACUUM (ANALYZE) ${PREDICTIONS}, ${LABELS}`));
    memory.push(await measureMemory(MEMORY_CHILD, MEM_SMALL, 60_000));

    const loadMs = await timed('generate', ROWS, () => insertRows(db, MEM_SMALL + 1, ROWS));
    const loadMsPerRow = loadMs / (ROWS - MEM_SMALL);
    // VACUUM as well: hint bits and the visibility map are set now, not during a measured run.
    await timed('vacuum', ROWS, () => db.query(`VACUUM (ANALYZE) ${PREDICTIONS}, ${LABELS}`));
    auc = await benchAuc(db, { left: () => dog.deadlineMs - elapsed() }, peerWhy === undefined);

    // The largest size: grown by more keys of the same kind (scores stay distinct), then analyzed (not
    // vacuumed: only memory is compared there). The first of MEM_BIG that the rates seen so far say fits.
    const checkMsPerRow = auc.three.median / ROWS;
    const need = (rows: number) =>
      1.3 * (rows - ROWS) * loadMsPerRow + 1.5 * MEM_RUNS * rows * checkMsPerRow + 15_000;
    let target = MEM_BIG.find((rows) => elapsed() + need(rows) < dog.deadlineMs) ?? ROWS;
    if (FORCED_BIG !== undefined) {
      target = FORCED_BIG;
      dog.deadlineMs = Math.max(dog.deadlineMs, elapsed() + 1.5 * need(target) + 30_000);
      dog.arm();
      forcedNote = `; forced by MLWATCH_BENCH_MODEL_MEMORY_ROWS, the deadline moved to ${(dog.deadlineMs / 1000).toFixed(0)} s`;
    }
    if (target > ROWS) {
      await timed('generate', target, () => insertRows(db, ROWS + 1, target));
      await timed('analyze', target, () => db.query(`ANALYZE ${PREDICTIONS}, ${LABELS}`));
    }
    memory.push(
      await measureMemory(MEMORY_CHILD, target, Math.max(10_000, dog.deadlineMs - elapsed() - 5000)),
    );
  } finally {
    await db.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`).catch(() => {});
    await db.end().catch(() => {});
  }
  dog.clear();

  const oneToSort = auc.one.median / auc.sort.median;
  const threeToOne = auc.three.median / auc.one.median;
  const nodeToOne = auc.nodeSide.median / auc.one.median;
  const n = auc.node;
  console.log(
    `tables: ${count(ROWS)} predictions (key, predicted_at over the last ${SPAN_DAYS} days, distinct float8 scores) ` +
      `and ${count(ROWS)} labels (one per key, positive with probability = score), ${mib(auc.heapBytes)} heap, ` +
      `unlogged, vacuumed, no indexes; loading took ${load
        .filter((l) => l.rows <= ROWS)
        .reduce((a, l) => a + l.seconds, 0)
        .toFixed(1)} s`,
  );
  console.log(
    `   14d: n ${count(n.n)}, AUC ${n.auc.toFixed(6)} ± ${n.aucStderr.toFixed(6)}, log loss ${n.logLoss.toFixed(6)}, ` +
      `Brier ${n.brier.toFixed(6)}, accuracy ${n.accuracy.toFixed(6)}, F1 ${n.f1.toFixed(6)}, ECE ${n.calibrationError.toFixed(6)}; ` +
      `the check's AUC, stderr, log loss, Brier, accuracy, precision, recall and ECE equal Node's to 1e-9`,
  );
  console.log('');
  console.log(
    `1. classification metrics on ${count(ROWS)} labeled predictions, ${auc.rounds} rounds (interleaved, rotating order)` +
      `${auc.stoppedEarly ? ` of ${R}: the time budget ran out` : ''}, after the exporter's start-up round ` +
      `(${ms(auc.startupMs)} ms, both checks at once), which is the warm-up`,
  );
  console.log(`   (a) ORDER BY s of the joined rows:   ${line(auc.sort)}`);
  console.log(
    `   (b) check, windows [14d] (runNow):   ${line(auc.one)}   -> ${x(oneToSort)} the sort (median), ${x(auc.one.p95 / auc.sort.p95)} (p95)`,
  );
  console.log(
    `   (c) check, windows [1d, 7d, 14d]:    ${line(auc.three)}   -> ${x(threeToOne)} one window (median), ${x(auc.three.p95 / auc.one.p95)} (p95)`,
  );
  console.log(
    `   (d) rows into Node + JS:             ${line(auc.nodeSide)}   -> ${x(nodeToOne)} the check (median), ${x(auc.nodeSide.p95 / auc.one.p95)} (p95); ` +
      `pulling ${count(auc.pulledRows)} rows ${ms(auc.pull.median)} ms, computing ${ms(auc.compute.median)} ms (medians)`,
  );
  if (auc.pandasSide && auc.peerPull && auc.peerCompute && auc.pairedOneToPandas && auc.pairedThreeToPandas) {
    const oneToPandas = auc.one.median / auc.pandasSide.median;
    console.log(
      `   (e) pandas read_sql + scikit-learn:  ${line(auc.pandasSide)}   -> (b) is ${x(oneToPandas)} of it, (c) ${x(auc.three.median / auc.pandasSide.median)} (medians); ` +
        `pulling ${ms(auc.peerPull.median)} ms, computing ${ms(auc.peerCompute.median)} ms (the interpreter's start and imports left out)`,
    );
    console.log(
      `   per round: (b)/(e) ${perRound(auc.pairedOneToPandas)}; (c)/(e) ${perRound(auc.pairedThreeToPandas)}; ` +
        `(b) <= 0.5x (e): ${pass(oneToPandas <= 0.5)}; (b) < (e): ${pass(oneToPandas < 1)}; the check's values equal scikit-learn's to 1e-9`,
    );
  } else {
    console.log(`   (e) pandas + scikit-learn: not run: ${peerWhy}`);
  }
  console.log(`   (f) the labels check of model one [14d]: ${line(auc.labelsSide)}`);
  if (auc.pandasLabelsSide && auc.pairedLabelsToPandas) {
    const labelsToPeer = auc.labelsSide.median / auc.pandasLabelsSide.median;
    console.log(
      `   (g) pandas: every prediction's times into pandas, counts, coverage, leakage, delay p50/p95 (numpy): ${line(auc.pandasLabelsSide)}`,
    );
    console.log(
      `   (f)/(g) ${x(labelsToPeer)} (per round ${perRound(auc.pairedLabelsToPandas)}): <= 0.5x ${pass(labelsToPeer <= 0.5)}, < 1x ${pass(labelsToPeer < 1)}; the check's figures equal numpy's`,
    );
  }
  console.log(
    `   per round: (b)/(a) ${perRound(auc.pairedOneToSort)}; (c)/(b) ${perRound(auc.pairedThreeToOne)}; (d)/(b) ${perRound(auc.pairedNodeToOne)}`,
  );
  console.log(
    `   (b) <= 4x (a): ${pass(oneToSort <= 4)} (${x(oneToSort)}); (c) <= 1.5x (b): ${pass(threeToOne <= 1.5)} (${x(threeToOne)}); ` +
      `(d) >= 2x (b): ${pass(nodeToOne >= 2)} (${x(nodeToOne)})`,
  );
  console.log(
    `   each check run sent 1 statement in its read-only transaction (plus BEGIN, set_config, COMMIT); ` +
      `three windows: ${auc.threeSeries} series`,
  );
  console.log(
    `   plans (EXPLAIN ANALYZE once each, its own timing overhead included; work_mem=${auc.workMem}, ` +
      `max_parallel_workers_per_gather=${auc.parallelWorkersPerGather}, jit=${auc.jit}):`,
  );
  const planNames = {
    sort: '(a) the sort',
    joinedOnly: 'the joined rows alone (count(*), no sort)',
    one: '(b) the check, [14d]',
    three: '(c) the check, [1d, 7d, 14d]',
  } as const;
  for (const [k, label] of Object.entries(planNames) as Array<[keyof typeof planNames, string]>) {
    const p = auc.plans[k];
    console.log(
      `     ${label}: executed in ${ms(p.executionMs)} ms, ${count(p.tempBlocks)} temp blocks read + written, ` +
        `${p.jitFunctions ? `JIT ${p.jitFunctions} functions ${ms(p.jitMs)} ms` : 'no JIT'}`,
    );
    if (k === 'one' || k === 'three' || k === 'sort') {
      for (const s of p.sorts) console.log(`       ${s.node} (${ms(s.selfMs)} ms self): ${s.detail}`);
    }
  }
  const joinMs = auc.plans.joinedOnly.executionMs;
  const share = (p: PlanSummary) => `${((100 * joinMs) / p.executionMs).toFixed(0)} %`;
  console.log(
    `     the joined rows alone are ${share(auc.plans.sort)} of (a)'s executed time, ${share(auc.plans.one)} of (b)'s ` +
      `and ${share(auc.plans.three)} of (c)'s (EXPLAIN ANALYZE figures, one run each)`,
  );
  // (b) runs the same join as (d) before its own work, so (b) >= the join; (d) >= 2x (b) then needs the join under
  // half of (d). Both figures here are from this run: the join from its plan, (d) from its rounds.
  const joinShareOfNode = joinMs / auc.nodeSide.median;
  console.log(
    `     bound on (d) >= 2x (b): the check pays the joined rows (${ms(joinMs)} ms) before any metric, so it needs them under ` +
      `half of (d): they are ${x(joinShareOfNode)} of (d)'s median: ${joinShareOfNode < 0.5 ? 'reachable' : 'out of reach for any statement that joins in the server'}`,
  );

  const small = memory[0] as MemoryFigures;
  const big = memory.at(-1) as MemoryFigures;
  console.log('');
  console.log(
    `2. exporter memory (model three, windows [1d, 7d, 14d]), a fresh process per size (${small.gc ? 'after a full GC, --expose-gc' : 'no --expose-gc: without a GC first'}), ` +
      `${MEM_RUNS} check runs each` +
      (big.rows !== MEM_BIG[0]
        ? `; the largest is ${count(big.rows)} predictions, not ${count(MEM_BIG[0] as number)}` +
          (FORCED_BIG !== undefined
            ? forcedNote
            : `: loading more would not have fit in ${DEADLINE_MS / 1000} s`)
        : forcedNote),
  );
  const memoryFigures = memoryReport(memory, {
    noun: 'predictions',
    runs: MEM_RUNS,
    largestPlanned: MEM_BIG[0] as number,
    extra: { forced: FORCED_BIG ?? null },
  });

  const report = {
    at: new Date().toISOString(),
    postgres: version,
    node: process.version,
    cpus,
    seconds: round3(elapsed() / 1000),
    tables: { predictions: ROWS, labels: ROWS, spanDays: SPAN_DAYS, heapBytes: auc.heapBytes, load },
    auc: {
      rounds: auc.rounds,
      roundsPlanned: R,
      stoppedEarly: auc.stoppedEarly,
      startupMs: round3(auc.startupMs),
      maxParallelWorkersPerGather: auc.parallelWorkersPerGather,
      workMem: auc.workMem,
      sharedBuffers: auc.sharedBuffers,
      jit: auc.jit,
      checkStatements: auc.statements,
      node: auc.node,
      compared: auc.compared,
      sortMs: rounded(auc.sort),
      oneWindowMs: rounded(auc.one),
      threeWindowsMs: rounded(auc.three),
      nodeMs: rounded(auc.nodeSide),
      nodePullMs: rounded(auc.pull),
      nodeComputeMs: rounded(auc.compute),
      pandasMs: auc.pandasSide && rounded(auc.pandasSide),
      pandasPullMs: auc.peerPull && rounded(auc.peerPull),
      pandasComputeMs: auc.peerCompute && rounded(auc.peerCompute),
      labelsCheckMs: rounded(auc.labelsSide),
      pandasLabelsMs: auc.pandasLabelsSide && rounded(auc.pandasLabelsSide),
      ratioOneToSort: {
        median: oneToSort,
        p95: auc.one.p95 / auc.sort.p95,
        pairedMedian: auc.pairedOneToSort.median,
        atMost: 4,
        pass: oneToSort <= 4,
      },
      ratioThreeToOne: {
        median: threeToOne,
        p95: auc.three.p95 / auc.one.p95,
        pairedMedian: auc.pairedThreeToOne.median,
        atMost: 1.5,
        pass: threeToOne <= 1.5,
      },
      ratioNodeToOne: {
        median: nodeToOne,
        p95: auc.nodeSide.p95 / auc.one.p95,
        pairedMedian: auc.pairedNodeToOne.median,
        atLeast: 2,
        pass: nodeToOne >= 2,
      },
      plans: auc.plans,
      rawMs: {
        sort: auc.raw.sort.map(round3),
        oneWindow: auc.raw.one.map(round3),
        threeWindows: auc.raw.three.map(round3),
        node: auc.raw.node.map(round3),
        pandas: auc.raw.pandas.map(round3),
        labels: auc.raw.labels.map(round3),
        pandasLabels: auc.raw.pandasLabels.map(round3),
      },
    },
    memory: memoryFigures.json,
  };
  writeFigures(OUT_FILE, report, elapsed() / 1000);
}

runBench({
  memory: MEMORY_CHILD,
  url: URL_,
  schema: SCHEMA,
  deadlineMs: DEADLINE_MS,
  child: memoryChildRun,
  main,
});
