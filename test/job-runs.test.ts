import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDb, type TestDb } from './helpers/db.js';
import { percentileCont } from './helpers/drift-math.js';
import { scrapeOnce } from './helpers/exporter.js';
import { type Parsed, sampleValue, series } from './helpers/exposition.js';

// Known runs, each stamped a whole number of seconds before one base instant read from the warehouse clock just
// before seeding. Every expected value is computed below in TypeScript from these arrays, by brute force.
// Start ages keep at least 2 minutes away from every window edge, and end ages from the 1 day edge of the p95.
interface Run {
  job: string;
  status: string | null;
  /** Seconds before the base instant; negative = in the future. */
  start: number;
  /** null = still running. */
  end: number | null;
}

const M = 60;
const H = 3600;
const D = 86_400;
const WINDOWS = [
  ['5m', 5 * M],
  ['30m', 30 * M],
  ['1h', H],
  ['2h', 2 * H],
  ['6h', 6 * H],
  ['1d', D],
  ['3d', 3 * D],
] as const;
const SUCCESS = ['ok', 'done'];

let seed = 7;
const rand = () => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
};
const nearEdge = (age: number, margin: number) =>
  WINDOWS.some(([, w]) => Math.abs(age - w) < margin) || Math.abs(age - D) < margin;

const runs: Run[] = [];
// The busy job: runs spread over 4 days, statuses of both success values, a failure, NULL, and runs still
// running; durations from 10 s to about 40 min.
for (let i = 0; i < 400; i++) {
  let start = 30 + Math.floor(rand() * 4 * D);
  while (nearEdge(start, 120)) start += 300;
  const u = rand();
  const duration = 10 + Math.floor(rand() * 2400);
  let end: number | null = start - duration;
  if (u < 0.05 || end <= 0) end = null;
  else if (end > 0 && Math.abs(end - D) < 120) end -= 300;
  const status = end === null ? 'running' : u < 0.45 ? 'ok' : u < 0.75 ? 'done' : u < 0.9 ? 'failed' : null;
  runs.push({ job: 'pipeline', status, start, end });
}
// A run stuck for 5 days (in progress, in no window), a 2-day run that ended within the last day (in the p95
// though it started before the widest window), and a run from a writer with a skewed clock (ignored).
runs.push({ job: 'pipeline', status: null, start: 5 * D, end: null });
runs.push({ job: 'pipeline', status: 'ok', start: 3 * D + 4 * H, end: 20 * H });
runs.push({ job: 'pipeline', status: 'ok', start: -600, end: -300 });
// A job that never succeeded: failures and a run in progress.
runs.push({ job: 'broken', status: 'failed', start: 50 * M, end: 45 * M });
runs.push({ job: 'broken', status: 'error', start: 10 * H, end: 10 * H - 90 });
runs.push({ job: 'broken', status: 'running', start: 3 * M, end: null });
// A job whose newest run ended 2 days ago: inside the widest window, outside the last day of the p95.
runs.push({ job: 'weekly', status: 'ok', start: 2 * D + 3 * H, end: 2 * D + H });
runs.push({ job: 'weekly', status: 'failed', start: 2 * D + 20 * M, end: 2 * D });
// A job whose runs all ended long ago: last success and last duration come from beyond the scanned rows.
runs.push({ job: 'old', status: 'ok', start: 10 * D + 600, end: 10 * D });
runs.push({ job: 'old', status: 'failed', start: 9 * D + 100, end: 9 * D });
runs.push({ job: 'old', status: 'ok', start: 12 * D + 50, end: 12 * D });

// Expected values, from the definitions in docs/system-layer.md.
const jobRuns = (job: string) => runs.filter((r) => r.job === job && r.start > 0);
const outcome = (r: Run) =>
  r.end === null ? 'running' : r.status !== null && SUCCESS.includes(r.status) ? 'success' : 'failure';
const count = (job: string, w: number, o: string) =>
  jobRuns(job).filter((r) => r.start <= w && outcome(r) === o).length;
const finished = (job: string) => jobRuns(job).filter((r) => r.end !== null && r.end > 0);
const newestEnd = (rs: Run[]) =>
  [...rs].sort((a, b) => (a.end as number) - (b.end as number) || b.start - a.start)[0];

const closeTo = (actual: number, want: number, tol = 1e-9 * Math.max(Math.abs(want), 1)) => {
  if (!(Math.abs(actual - want) <= tol)) throw new Error(`expected ${actual} to be within ${tol} of ${want}`);
};

let db: TestDb;
let s: string;
let t0: number;
let m: Parsed;

const job = (name: string, extra = '') => `  - name: ${name}
    table: ${s}.runs
    job_column: job
    status_column: status
    success_values: [ok, done]
    started_column: started_at
    finished_column: finished_at
${extra}`;

beforeAll(async () => {
  db = await openTestDb();
  s = db.schema;
  await db.writer.exec(`CREATE TABLE ${s}.runs (id serial, job text, status text, started_at timestamptz, finished_at timestamptz);
CREATE TABLE ${s}.empty_runs (job text, status text, started_at timestamptz, finished_at timestamptz);
CREATE TABLE ${s}.solo (state integer, began timestamptz, ended timestamptz);
CREATE TABLE ${s}.base AS SELECT now() AS t0;`);
  const [base] = await db.writer.query(`SELECT extract(epoch FROM t0)::float8 AS t0 FROM ${s}.base`);
  t0 = Number(base?.t0);
  const at = (i: number) => `(SELECT t0 FROM ${s}.base) - make_interval(secs => $${i}::float8)`;
  for (let i = 0; i < runs.length; i += 100) {
    const chunk = runs.slice(i, i + 100);
    const values = chunk.map(
      (_, k) =>
        `($${4 * k + 1}, $${4 * k + 2}, ${at(4 * k + 3)}, CASE WHEN $${4 * k + 4}::float8 IS NULL THEN NULL ELSE ${at(4 * k + 4)} END)`,
    );
    await db.writer.query(
      `INSERT INTO ${s}.runs (job, status, started_at, finished_at) VALUES ${values.join(', ')}`,
      chunk.flatMap((r) => [r.job, r.status, r.start, r.end]),
    );
  }
  // One job per table, integer status where 0 is success: no job_column needed.
  await db.writer.exec(`INSERT INTO ${s}.solo VALUES
    (0, (SELECT t0 FROM ${s}.base) - interval '40 minutes', (SELECT t0 FROM ${s}.base) - interval '35 minutes'),
    (1, (SELECT t0 FROM ${s}.base) - interval '20 minutes', (SELECT t0 FROM ${s}.base) - interval '19 minutes'),
    (NULL, (SELECT t0 FROM ${s}.base) - interval '2 minutes', NULL)`);

  const text = `warehouse:\n  url: ${db.configUrl}\ndefaults: { interval: 1h }\njobs:
${job('pipeline')}${job('broken')}${job('weekly')}${job('old')}${job('idle')}${job('nightly', '    job: pipeline\n    windows: [1d]\n')}  - name: empty
    table: ${s}.empty_runs
    job_column: job
    status_column: status
    started_column: started_at
    finished_column: finished_at
  - name: solo
    table: ${s}.solo
    status_column: state
    success_values: [0]
    started_column: began
    finished_column: ended
    windows: [1h]
`;
  m = await scrapeOnce(db, text);
}, 60_000);
afterAll(async () => {
  await db?.close();
});

function expectJob(name: string, rowsOf: string, windows: readonly (readonly [string, number])[] = WINDOWS) {
  expect(sampleValue(m, 'mlwatch_check_success', { check: `job:${name}` })).toBe(1);
  for (const [label, w] of windows) {
    const want = {
      success: count(rowsOf, w, 'success'),
      failure: count(rowsOf, w, 'failure'),
      running: count(rowsOf, w, 'running'),
    };
    for (const [o, n] of Object.entries(want))
      expect(
        sampleValue(m, 'mlwatch_job_runs', { job_name: name, window: label, outcome: o }),
        `${label} ${o}`,
      ).toBe(n);
    const done = want.success + want.failure;
    if (done === 0)
      expect(series(m, 'mlwatch_job_success_ratio', { job_name: name, window: label })).toHaveLength(0);
    else
      closeTo(
        sampleValue(m, 'mlwatch_job_success_ratio', { job_name: name, window: label }),
        want.success / done,
      );
  }
  expect(series(m, 'mlwatch_job_runs', { job_name: name })).toHaveLength(3 * windows.length);
  expect(sampleValue(m, 'mlwatch_job_runs_in_progress', { job_name: name })).toBe(
    jobRuns(rowsOf).filter((r) => r.end === null).length,
  );

  const successes = finished(rowsOf).filter((r) => outcome(r) === 'success');
  if (successes.length === 0)
    expect(series(m, 'mlwatch_job_last_success_timestamp_seconds', { job_name: name })).toHaveLength(0);
  else
    closeTo(
      sampleValue(m, 'mlwatch_job_last_success_timestamp_seconds', { job_name: name }),
      t0 - (newestEnd(successes)?.end as number),
      1e-5,
    );

  const last = newestEnd(finished(rowsOf));
  if (last === undefined)
    expect(series(m, 'mlwatch_job_duration_seconds', { job_name: name })).toHaveLength(0);
  else
    closeTo(
      sampleValue(m, 'mlwatch_job_duration_seconds', { job_name: name, stat: 'last' }),
      last.start - (last.end as number),
    );

  const day = finished(rowsOf)
    .filter((r) => (r.end as number) <= D)
    .map((r) => r.start - (r.end as number))
    .sort((a, b) => a - b);
  if (day.length === 0)
    expect(series(m, 'mlwatch_job_duration_seconds', { job_name: name, stat: 'p95' })).toHaveLength(0);
  else
    closeTo(
      sampleValue(m, 'mlwatch_job_duration_seconds', { job_name: name, stat: 'p95' }),
      percentileCont(day, 0.95),
    );
}

describe('job runs, success ratio, last success, durations and runs in progress', () => {
  it('the seeded runs cover the edge cases', () => {
    expect(count('pipeline', 5 * M, 'success') + count('pipeline', 5 * M, 'failure')).toBe(0);
    expect(count('pipeline', 3 * D, 'failure')).toBeGreaterThan(20);
    expect(jobRuns('pipeline').filter((r) => r.status === null && r.end !== null).length).toBeGreaterThan(5);
    expect(count('pipeline', H, 'running')).toBeGreaterThan(0);
    expect(finished('pipeline').filter((r) => (r.end as number) <= D).length).toBeGreaterThan(50);
  });

  it('a busy job: counts by outcome, ratios, last success, durations', () =>
    expectJob('pipeline', 'pipeline'));

  it('the job value can differ from the name, with its own windows', () =>
    expectJob('nightly', 'pipeline', [['1d', D]]));

  it('a job that never succeeded: a ratio of 0, no last success', () => {
    expectJob('broken', 'broken');
    expect(sampleValue(m, 'mlwatch_job_success_ratio', { job_name: 'broken', window: '1h' })).toBe(0);
  });

  it('a job whose newest run ended before the last day: last duration from beyond the p95 rows', () => {
    expectJob('weekly', 'weekly');
    expect(sampleValue(m, 'mlwatch_job_duration_seconds', { job_name: 'weekly', stat: 'last' })).toBe(20 * M);
    expect(series(m, 'mlwatch_job_duration_seconds', { job_name: 'weekly', stat: 'p95' })).toHaveLength(0);
  });

  it('a job whose runs ended long ago: no window has a run, last success and duration still known', () => {
    expectJob('old', 'old');
    expect(series(m, 'mlwatch_job_success_ratio', { job_name: 'old' })).toHaveLength(0);
    expect(series(m, 'mlwatch_job_last_success_timestamp_seconds', { job_name: 'old' })).toHaveLength(1);
  });

  it('a job with no runs and an empty table: zero counts and nothing else', () => {
    for (const name of ['idle', 'empty']) {
      expectJob(name, name);
      expect(series(m, 'mlwatch_job_success_ratio', { job_name: name })).toHaveLength(0);
      expect(series(m, 'mlwatch_job_duration_seconds', { job_name: name })).toHaveLength(0);
      expect(
        series(m, 'mlwatch_check_skipped_samples', { check: `job:${name}`, reason: 'never_succeeded' }),
      ).toHaveLength(1);
    }
  });

  it('a table of one job with integer statuses: no job_column', () => {
    const labels = (outcome: string) => ({ job_name: 'solo', window: '1h', outcome });
    expect(sampleValue(m, 'mlwatch_job_runs', labels('success'))).toBe(1);
    expect(sampleValue(m, 'mlwatch_job_runs', labels('failure'))).toBe(1);
    expect(sampleValue(m, 'mlwatch_job_runs', labels('running'))).toBe(1);
    expect(sampleValue(m, 'mlwatch_job_success_ratio', { job_name: 'solo', window: '1h' })).toBe(0.5);
    closeTo(
      sampleValue(m, 'mlwatch_job_last_success_timestamp_seconds', { job_name: 'solo' }),
      t0 - 35 * M,
      1e-5,
    );
    expect(sampleValue(m, 'mlwatch_job_duration_seconds', { job_name: 'solo', stat: 'last' })).toBe(60);
    // Durations 300 and 60: percentile_cont(0.95) = 60 + 0.95 * (300 - 60).
    closeTo(sampleValue(m, 'mlwatch_job_duration_seconds', { job_name: 'solo', stat: 'p95' }), 288);
    expect(sampleValue(m, 'mlwatch_job_runs_in_progress', { job_name: 'solo' })).toBe(1);
  });

  it('series carry exactly the catalog labels, with HELP and TYPE, and no NaN', () => {
    // `job_name`, never `job`: Prometheus would rename a scraped `job` to `exported_job`.
    const labelsOf: Record<string, string[]> = {
      mlwatch_job_runs: ['job_name', 'outcome', 'window'],
      mlwatch_job_success_ratio: ['job_name', 'window'],
      mlwatch_job_last_success_timestamp_seconds: ['job_name'],
      mlwatch_job_duration_seconds: ['job_name', 'stat'],
      mlwatch_job_runs_in_progress: ['job_name'],
    };
    for (const [name, labels] of Object.entries(labelsOf)) {
      expect(series(m, name).length, name).toBeGreaterThan(0);
      for (const x of series(m, name)) expect(Object.keys(x.labels).sort(), name).toEqual(labels);
      expect(m.type.get(name)).toBe('gauge');
      expect(m.help.get(name)).toBeTruthy();
    }
    for (const x of m.samples)
      expect(Number.isFinite(x.value), `${x.name} ${JSON.stringify(x.labels)}`).toBe(true);
  });
});
