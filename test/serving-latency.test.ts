import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDb, type TestDb } from './helpers/db.js';
import { percentileCont } from './helpers/drift-math.js';
import { scrapeOnce } from './helpers/exporter.js';
import { type Parsed, sampleValue, series } from './helpers/exposition.js';

// Known requests, each stamped a whole number of seconds before one base instant read from the warehouse clock
// before seeding. Expected values are computed below in TypeScript from this array. Ages keep 2 minutes away
// from every window edge. The last 5 minutes hold only requests without a latency: that window has requests
// but no percentiles and no slow ratio.
interface Req {
  age: number;
  latencyMs: number | null;
  status: number | null;
}

const M = 60;
const H = 3600;
const WINDOWS = [
  ['5m', 5 * M],
  ['30m', 30 * M],
  ['1h', H],
  ['6h', 6 * H],
  ['1d', 24 * H],
] as const;

let seed = 11;
const rand = () => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
};

const reqs: Req[] = [];
for (let i = 0; i < 3000; i++) {
  let age = 6 * M + Math.floor(rand() * 26 * H);
  while (WINDOWS.some(([, w]) => Math.abs(age - w) < 120)) age += 300;
  const u = rand();
  // Log-normal-ish latencies around 120 ms with a slow tail; some repeated values (ties).
  const latencyMs =
    u < 0.03
      ? null
      : u < 0.08
        ? 250
        : Math.round(Math.exp(Math.log(120) + 1.1 * (rand() * 2 - 1) ** 3 * 2) * 10) / 10;
  const v = rand();
  const status = v < 0.02 ? null : v < 0.06 ? 503 : v < 0.08 ? 500 : v < 0.12 ? 404 : 200;
  reqs.push({ age, latencyMs, status });
}
for (let i = 0; i < 7; i++) reqs.push({ age: 30 + i * 30, latencyMs: null, status: i % 2 ? 200 : 502 });
// From a writer with a skewed clock: ignored everywhere.
reqs.push({ age: -120, latencyMs: 99_999, status: 500 });

const inW = (r: Req, w: number) => r.age > 0 && r.age <= w;
const latencies = (w: number) =>
  reqs
    .filter((r) => inW(r, w) && r.latencyMs !== null)
    .map((r) => (r.latencyMs as number) / 1000)
    .sort((a, b) => a - b);

const closeTo = (actual: number, want: number) => {
  const tol = 1e-9 * Math.max(Math.abs(want), 1e-6);
  if (!(Math.abs(actual - want) <= tol)) throw new Error(`expected ${actual} to be within ${tol} of ${want}`);
};

let db: TestDb;
let s: string;
let m: Parsed;

beforeAll(async () => {
  db = await openTestDb();
  s = db.schema;
  await db.writer.exec(`CREATE TABLE ${s}.requests (id serial, at timestamptz, latency_ms double precision, status integer);
CREATE TABLE ${s}.calls (at timestamptz, took numeric, outcome text);
CREATE TABLE ${s}.empty_requests (at timestamptz, latency_us bigint);
CREATE TABLE ${s}.base AS SELECT now() AS t0;`);
  const at = (i: number) => `(SELECT t0 FROM ${s}.base) - make_interval(secs => $${i}::float8)`;
  for (let i = 0; i < reqs.length; i += 500) {
    const chunk = reqs.slice(i, i + 500);
    const values = chunk.map((_, k) => `(${at(3 * k + 1)}, $${3 * k + 2}::float8, $${3 * k + 3}::int)`);
    await db.writer.query(
      `INSERT INTO ${s}.requests (at, latency_ms, status) VALUES ${values.join(', ')}`,
      chunk.flatMap((r) => [r.age, r.latencyMs, r.status]),
    );
  }
  // The same requests in seconds (numeric) with text outcomes, for the unit and error_values.
  await db.writer.exec(`INSERT INTO ${s}.calls
SELECT at, (latency_ms / 1000)::numeric,
       CASE WHEN status IS NULL THEN NULL WHEN status >= 500 THEN 'error' WHEN status = 404 THEN 'timeout' ELSE 'ok' END
FROM ${s}.requests`);

  const text = `warehouse:\n  url: ${db.configUrl}\ndefaults: { interval: 1h }\nserving:
  - name: scoring_api
    table: ${s}.requests
    timestamp: at
    latency: { column: latency_ms, unit: ms }
    status: { column: status }
  - name: strict_api
    table: ${s}.requests
    timestamp: at
    latency: { column: latency_ms, unit: ms }
    status: { column: status, error_min: 400 }
    objective: 250ms
    windows: [1h, 1d]
  - name: calls
    table: ${s}.calls
    timestamp: at
    latency: { column: took, unit: s }
    status: { column: outcome, error_values: [error, timeout] }
  - name: quiet
    table: ${s}.empty_requests
    timestamp: at
    latency: { column: latency_us, unit: us }
    objective: 1s
`;
  m = await scrapeOnce(db, text);
}, 60_000);
afterAll(async () => {
  await db?.close();
});

function expectService(
  service: string,
  opts: {
    windows: readonly (readonly [string, number])[];
    objective: number;
    isError: ((r: Req) => boolean) | undefined;
  },
) {
  expect(sampleValue(m, 'mlwatch_check_success', { check: `serving:${service}` })).toBe(1);
  expect(sampleValue(m, 'mlwatch_serving_latency_objective_seconds', { service_name: service })).toBe(
    opts.objective,
  );
  for (const [window, w] of opts.windows) {
    const labels = { service_name: service, window };
    const inWindow = reqs.filter((r) => inW(r, w));
    expect(sampleValue(m, 'mlwatch_serving_requests', labels)).toBe(inWindow.length);
    const isError = opts.isError;
    if (isError === undefined) expect(series(m, 'mlwatch_serving_errors', labels)).toHaveLength(0);
    else expect(sampleValue(m, 'mlwatch_serving_errors', labels)).toBe(inWindow.filter(isError).length);
    const l = latencies(w);
    if (l.length === 0) {
      expect(series(m, 'mlwatch_serving_latency_seconds', labels)).toHaveLength(0);
      expect(series(m, 'mlwatch_serving_slow_ratio', labels)).toHaveLength(0);
      continue;
    }
    closeTo(
      sampleValue(m, 'mlwatch_serving_slow_ratio', labels),
      l.filter((x) => x > opts.objective).length / l.length,
    );
    for (const [percentile, p] of [
      ['50', 0.5],
      ['95', 0.95],
      ['99', 0.99],
    ] as const) {
      closeTo(
        sampleValue(m, 'mlwatch_serving_latency_seconds', { ...labels, percentile }),
        percentileCont(l, p),
      );
    }
    expect(series(m, 'mlwatch_serving_latency_seconds', labels)).toHaveLength(3);
  }
  expect(series(m, 'mlwatch_serving_requests', { service_name: service })).toHaveLength(opts.windows.length);
}

describe('serving latency percentiles, requests, errors and the slow ratio', () => {
  it('the seeded requests cover the edge cases', () => {
    expect(reqs.filter((r) => inW(r, 5 * M)).length).toBe(7);
    expect(latencies(5 * M)).toHaveLength(0);
    expect(reqs.filter((r) => inW(r, H) && r.latencyMs === null).length).toBeGreaterThan(5);
    expect(reqs.filter((r) => inW(r, H) && r.status === null).length).toBeGreaterThan(0);
    expect(latencies(H).filter((x) => x > 0.5).length).toBeGreaterThan(0);
    expect(latencies(24 * H).filter((x) => x === 0.25).length).toBeGreaterThan(10);
  });

  it('latency in ms, 5xx are errors, a NULL status is not, default windows and objective', () =>
    expectService('scoring_api', {
      windows: WINDOWS,
      objective: 0.5,
      isError: (r) => r.status !== null && r.status >= 500,
    }));

  it('error_min and an objective of 250ms: requests at exactly 250 ms are not slow', () =>
    expectService('strict_api', {
      windows: [
        ['1h', H],
        ['1d', 24 * H],
      ],
      objective: 0.25,
      isError: (r) => r.status !== null && r.status >= 400,
    }));

  it('latency in seconds (numeric) and text statuses listed as errors', () =>
    expectService('calls', {
      windows: WINDOWS,
      objective: 0.5,
      isError: (r) => r.status !== null && (r.status >= 500 || r.status === 404),
    }));

  it('an empty request log: zero requests, no percentiles, no ratio, no errors series without a status', () => {
    for (const [window] of WINDOWS) {
      const labels = { service_name: 'quiet', window };
      expect(sampleValue(m, 'mlwatch_serving_requests', labels)).toBe(0);
      expect(series(m, 'mlwatch_serving_latency_seconds', labels)).toHaveLength(0);
      expect(series(m, 'mlwatch_serving_slow_ratio', labels)).toHaveLength(0);
    }
    expect(series(m, 'mlwatch_serving_errors', { service_name: 'quiet' })).toHaveLength(0);
    expect(sampleValue(m, 'mlwatch_serving_latency_objective_seconds', { service_name: 'quiet' })).toBe(1);
    expect(
      sampleValue(m, 'mlwatch_check_skipped_samples', { check: 'serving:quiet', reason: 'empty_window' }),
    ).toBe(WINDOWS.length);
  });

  it('series carry exactly the catalog labels, with HELP and TYPE, and no NaN', () => {
    for (const x of series(m, 'mlwatch_serving_latency_seconds'))
      expect(Object.keys(x.labels).sort()).toEqual(['percentile', 'service_name', 'window']);
    for (const name of [
      'mlwatch_serving_latency_seconds',
      'mlwatch_serving_requests',
      'mlwatch_serving_errors',
      'mlwatch_serving_slow_ratio',
      'mlwatch_serving_latency_objective_seconds',
    ]) {
      expect(m.type.get(name)).toBe('gauge');
      expect(m.help.get(name)).toBeTruthy();
    }
    for (const x of m.samples)
      expect(Number.isFinite(x.value), `${x.name} ${JSON.stringify(x.labels)}`).toBe(true);
  });
});
