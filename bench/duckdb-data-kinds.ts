/**
 * mlwatch bench: the check kinds bench/duckdb.ts does not run, each as a real mlwatch check on DuckDB over Parquet
 * files (`duckdb:memory` with `warehouse.files`), against the pandas path on the same rows (pandas.read_csv of CSV
 * copies: no Parquet engine here; then numpy or scipy), issue 15's target being 0.1x the peer: the dataset scan,
 * duplicates, drift PSI and exact KS, labels, a job's runs, a service's requests and the ratio KPI
 * (bench/duckdb-data-defs.ts, duckdb-drift-defs.ts, duckdb-system-defs.ts), on 1,000,000 rows each in the
 * shape of the PostgreSQL bench whose saved figures are printed beside them.
 *
 * Per kind: its files are written (bench/duckdb-data-files.ts), the check runs once and the peer once, and every
 * value of the peer must equal the check's series (counts exactly, times to a microsecond, the rest to 1e-9)
 * before anything is timed; then rounds alternate the check and the peer, and the values are compared again when
 * the windows still hold the same rows. Figures: .bench/duckdb-data-kinds.json.
 *
 *   npx tsx bench/duckdb-data-kinds.ts [kind ...]   (scan duplicates drift drift_ks labels job serving kpi)
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import type { Sample } from '../src/metrics/types.js';
import { configText, DATASET_KINDS, type DataKind } from './duckdb-data-defs.js';
import { DRIFT_KINDS } from './duckdb-drift-defs.js';
import { timedCheck } from './duckdb-model-kinds.js';
import { alternate } from './duckdb-rounds.js';
import { GAP_S, SYSTEM_KINDS } from './duckdb-system-defs.js';
import { finish, rounded, writeFigures } from './harness.js';
import { type PeerResult, peerMissing, runPeer } from './pandas-peer.js';
import { ROWS } from './peer-kinds-tables.js';
import { compareSeries } from './series-compare.js';
import { line, ms, type Stats, stats, x } from './stats.js';

const R = 5;
const TARGET = 0.1;
const DIR = fileURLToPath(new URL('../.bench/duckdb-data-kinds/', import.meta.url));
const BENCH = fileURLToPath(new URL('../.bench/', import.meta.url));
const OUT_FILE = `${BENCH}duckdb-data-kinds.json`;
const KINDS = [...DATASET_KINDS, ...DRIFT_KINDS, ...SYSTEM_KINDS];
const loadAverage = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

/** The kind's files, written by a DuckDB of their own; when the write started (its rows' ages count from then). */
async function write(k: DataKind): Promise<number> {
  const started = Date.now();
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  try {
    await k.write(c, DIR);
  } finally {
    c.closeSync();
    db.closeSync();
  }
  return started;
}

/** The check's series against the peer's values; throws on the first run of mismatches, printing them. */
function verify(k: DataKind, samples: readonly Sample[], peer: PeerResult): number {
  const expected = k.expected(peer.values);
  const wrong = compareSeries(samples, expected, k.families, k.subject);
  if (wrong.length > 0) {
    for (const w of wrong.slice(0, 20)) console.error(`  ${w}`);
    throw new Error(`${k.name}: ${wrong.length} of ${expected.length} values differ from the peer's`);
  }
  return expected.length;
}

/** Whether every window still holds the rows it had at the write. */
const holds = (k: DataKind, written: number) => (Date.now() - written) / 1000 < k.holdS;

/** The same check on PostgreSQL, from the saved figures of the bench that runs it, if any. */
function postgres(k: DataKind): { check: number; peer?: number | undefined; from: string } | string {
  if (!k.postgres) return 'no PostgreSQL bench saves figures of this check (bench/kpi.ts prints its own)';
  const file = `${BENCH}${k.postgres.file}`;
  if (!existsSync(file)) return `no saved PostgreSQL figures (.bench/${k.postgres.file} not present)`;
  const saved = JSON.parse(readFileSync(file, 'utf8'));
  const check = k.postgres.check(saved);
  if (check === undefined) return `.bench/${k.postgres.file} holds no figure of this check`;
  return { check, peer: k.postgres.peer(saved), from: k.postgres.from };
}

async function runKind(k: DataKind, section: number, why: string | undefined) {
  const written = await write(k);
  const side = timedCheck(configText(DIR, k), DIR, k.checkId);
  let last: PeerResult | undefined;
  const parts = { pull: [] as number[], compute: [] as number[], refPull: [] as number[] };
  const peer = async () => {
    const r = await runPeer(k.peer(DIR));
    last = r;
    const ref = k.cachedReference ? (r.refPullMs ?? 0) : 0;
    parts.pull.push(r.pullMs - ref);
    parts.compute.push(r.computeMs);
    if (r.refPullMs !== undefined) parts.refPull.push(r.refPullMs);
    return r.pullMs - ref + r.computeMs;
  };
  const loads: Record<string, string> = {};
  let compared: number | undefined;
  let again: number | string = 'not compared again';
  let rounds: Awaited<ReturnType<typeof alternate>>;
  try {
    // Values first: the check once (drift computes and caches its reference here) and the peer once.
    await side.run();
    if (why === undefined) {
      await peer();
      if (!holds(k, written))
        throw new Error(
          `${k.name}: the first comparison came past the ${k.holdS} s the windows hold their rows`,
        );
      compared = verify(k, side.samples(), last as PeerResult);
      for (const p of Object.values(parts)) p.length = 0;
    }
    loads.rounds = loadAverage();
    rounds = await alternate(side.run, why === undefined ? peer : undefined, R);
    loads.end = loadAverage();
    if (compared !== undefined)
      again = holds(k, written)
        ? verify(k, side.samples(), last as PeerResult)
        : `not compared again: the rounds ended past the ${k.holdS} s the windows hold their rows`;
  } finally {
    await side.close();
  }
  const s: Record<string, Stats> = {};
  for (const [n, v] of Object.entries(rounds.samples)) s[n] = stats(v);
  const check = s.check as Stats;
  console.log(
    `\n${section}. ${k.name}: ${k.what}; ${R} rounds (load average ${loads.rounds} -> ${loads.end})`,
  );
  console.log(`  DuckDB check over Parquet      ${line(check)}`);
  const pass = rounds.ratio !== undefined && rounds.ratio <= TARGET;
  if (s.peer && rounds.ratio !== undefined) {
    const refNote = k.cachedReference ? ', its reference read left out' : '';
    console.log(`  pandas read_csv + numpy/scipy  ${line(s.peer)}${refNote}`);
    console.log(
      `  check = ${x(rounds.ratio)} the peer per round (medians ${x(check.median / s.peer.median)}); target <= ${x(TARGET)}: ${pass ? 'PASS' : 'FAIL'}`,
    );
    console.log(
      `  the check's ${compared} values equal the peer's before the rounds; after them: ${typeof again === 'number' ? `equal again (${again})` : again}`,
    );
  } else console.log(`  pandas peer: not run: ${why}`);
  const pg = postgres(k);
  if (typeof pg === 'string') console.log(`  PostgreSQL: ${pg}`);
  else
    console.log(
      `  PostgreSQL, the same check (${pg.from}, last saved run): median ${ms(pg.check)} ms` +
        (pg.peer === undefined ? '' : `, its pandas peer (read_sql) ${ms(pg.peer)} ms`),
    );
  return {
    id: k.id,
    what: k.what,
    checkId: k.checkId,
    compared,
    comparedAfter: again,
    loadAverage: loads,
    stats: Object.fromEntries(Object.entries(s).map(([n, v]) => [n, rounded(v)])),
    peerPullMs: parts.pull.length ? rounded(stats(parts.pull)) : undefined,
    peerComputeMs: parts.compute.length ? rounded(stats(parts.compute)) : undefined,
    peerReferenceReadMs: parts.refPull.length ? rounded(stats(parts.refPull)) : undefined,
    referenceReadLeftOut: k.cachedReference === true,
    ratioPerRound: rounds.ratio,
    target: TARGET,
    pass: rounds.ratio === undefined ? undefined : pass,
    postgres: pg,
    samples: rounds.samples,
    peerValues: last?.values,
  };
}

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((w) => !KINDS.some((k) => k.id === w));
  if (unknown.length > 0)
    throw new Error(`no kind ${unknown.join(', ')}; the kinds: ${KINDS.map((k) => k.id).join(' ')}`);
  const kinds = wanted.length > 0 ? KINDS.filter((k) => wanted.includes(k.id)) : KINDS;
  const loads: Record<string, string> = { start: loadAverage() };
  console.log(
    `mlwatch bench: the data, labels, system and KPI kinds on DuckDB over Parquet (node ${process.version}, ${os.availableParallelism()} CPUs)`,
  );
  console.log(
    `${ROWS.toLocaleString('en-US')} rows a kind, written before it runs; load average (1, 5, 15 min) ${loads.start}`,
  );
  const why = await peerMissing();
  rmSync(DIR, { recursive: true, force: true });
  mkdirSync(DIR, { recursive: true });
  const results = [];
  try {
    for (const [i, k] of kinds.entries()) results.push(await runKind(k, i + 1, why));
  } finally {
    rmSync(DIR, { recursive: true, force: true });
  }
  loads.end = loadAverage();
  console.log(`\nload average at the end ${loads.end}`);
  console.log(
    '\n| kind | DuckDB check, median | pandas peer, median | per round | 0.1x | PostgreSQL check |',
  );
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const r of results) {
    const peer = r.stats.peer ? `${ms(r.stats.peer.median)} ms` : 'not run';
    const pg = typeof r.postgres === 'string' ? 'not saved' : `${ms(r.postgres.check)} ms`;
    const ratio = r.ratioPerRound === undefined ? '-' : x(r.ratioPerRound);
    const pass = r.pass === undefined ? '-' : r.pass ? 'PASS' : 'FAIL';
    console.log(
      `| ${r.id} | ${ms((r.stats.check as Stats).median)} ms | ${peer} | ${ratio} | ${pass} | ${pg} |`,
    );
  }
  writeFigures(OUT_FILE, {
    at: new Date().toISOString(),
    node: process.version,
    cpus: os.availableParallelism(),
    rows: ROWS,
    rounds: R,
    gapSeconds: GAP_S,
    loadAverage: loads,
    kinds: Object.fromEntries(results.map((r) => [r.id, r])),
  });
}

finish(main());
