import type { TestDb } from './db.js';
import { scrapeOnce } from './exporter.js';
import type { Parsed } from './exposition.js';
import { classifierYaml } from './model-config.js';

/**
 * Seeded model tables: predictions and labels a test generates from a seeded random sequence, each row stamped
 * by its age in seconds before the warehouse's clock, and computes every expected value from by brute force.
 * Binary classifiers go to the tables classifierYaml configures (scrapeClassifiers); tests with tables of
 * their own seed them with insertAged.
 */

export const H = 3600;
export const D = 86_400;
/** The windows classifierYaml configures, in seconds. */
export const CLASSIFIER_WINDOWS = [
  { label: '1d', s: D },
  { label: '7d', s: 7 * D },
];

export interface Prediction {
  key: string;
  age: number;
  score: number | null;
  version: string | null;
}
export interface Label {
  key: string;
  age: number;
  label: boolean;
}
export interface SeededClassifier {
  name: string;
  threshold: number;
  preds: Prediction[];
  labels: Label[];
  versioned: boolean;
}

/**
 * A linear congruential generator: the same seed gives the same sequence, so every run seeds the same rows.
 * pick draws one of `xs`; age draws an age inside the 1d window (40 %), inside 7d only (50 %), older than 7d
 * (5 %), or in the future (5 %), always hours away from the window edges.
 */
export function seededRandom(seed: number) {
  let state = seed;
  const rand = () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const age = (): number => {
    const r = rand();
    if (r < 0.4) return H + Math.floor(rand() * 20 * H);
    if (r < 0.9) return 30 * H + Math.floor(rand() * 4 * D);
    if (r < 0.95) return 8 * D + Math.floor(rand() * D);
    return -2 * H;
  };
  return { rand, pick, age };
}

/**
 * A classifier of `opts.n` predictions keyed `<name>-<i>`: `row` adds prediction i and its labels, if any, in
 * order (so the seeded sequence is drawn the same way every run). Versioned when `opts.versions` is given.
 */
export function seededClassifier(
  name: string,
  opts: { n: number; threshold: number; versions?: unknown },
  row: (key: string, i: number, into: { preds: Prediction[]; labels: Label[] }) => void,
): SeededClassifier {
  const into = { preds: [] as Prediction[], labels: [] as Label[] };
  for (let i = 0; i < opts.n; i++) row(`${name}-${i}`, i, into);
  return { name, threshold: opts.threshold, ...into, versioned: opts.versions !== undefined };
}

/**
 * For every series group the classifier's performance check exports (each version it predicted inside 7d, ''
 * for none, when versioned; each window), `fn` gets the predictions made inside that window by that version,
 * and the group's labels (model, window[, version]).
 */
export function forEachVersionWindow(
  m: SeededClassifier,
  fn: (preds: Prediction[], labels: Record<string, string>) => void,
): void {
  const versions = m.versioned
    ? [...new Set(m.preds.filter((p) => p.age > 0 && p.age <= 7 * D).map((p) => p.version ?? ''))].sort()
    : [''];
  for (const version of versions) {
    for (const w of CLASSIFIER_WINDOWS) {
      fn(
        m.preds.filter((p) => p.age > 0 && p.age <= w.s && (!m.versioned || (p.version ?? '') === version)),
        { model: m.name, window: w.label, ...(m.versioned ? { version } : {}) },
      );
    }
  }
}

/**
 * Creates `<schema>.<name>_predictions (request_id, predicted_at, score, model_version)` and
 * `<schema>.<name>_labels (request_id, labeled_at, outcome)` and fills them, outcome a boolean or a 0/1
 * integer. NaN scores travel as text: a float8 array parameter cannot carry them through every driver.
 */
export async function seedClassifier(
  db: TestDb,
  model: SeededClassifier,
  labelType: 'boolean' | 'integer' = 'boolean',
): Promise<void> {
  const p = `${db.schema}.${model.name}_predictions`;
  const l = `${db.schema}.${model.name}_labels`;
  await db.writer.exec(
    `CREATE TABLE ${p} (request_id text, predicted_at timestamptz, score double precision, model_version text);
     CREATE TABLE ${l} (request_id text, labeled_at timestamptz, outcome ${labelType})`,
  );
  await db.writer.query(
    `INSERT INTO ${p}
     SELECT k, now() - make_interval(secs => a), s::float8, v
     FROM unnest($1::text[], $2::float8[], $3::text[], $4::text[]) AS u(k, a, s, v)`,
    [
      model.preds.map((r) => r.key),
      model.preds.map((r) => r.age),
      model.preds.map((r) => (r.score === null ? null : String(r.score))),
      model.preds.map((r) => r.version),
    ],
  );
  if (model.labels.length === 0) return;
  await db.writer.query(
    `INSERT INTO ${l}
     SELECT k, now() - make_interval(secs => a), y
     FROM unnest($1::text[], $2::float8[], $3::${labelType}[]) AS u(k, a, y)`,
    [
      model.labels.map((r) => r.key),
      model.labels.map((r) => r.age),
      model.labels.map((r) => (labelType === 'boolean' ? r.label : r.label ? 1 : 0)),
    ],
  );
}

/**
 * Seeds every model's tables, runs their checks once in an exporter (interval 1h, statement_timeout 20s) and
 * returns the parsed exposition. `labelType` says how each model's labels are stored (boolean by default).
 */
export async function scrapeClassifiers(
  db: TestDb,
  models: readonly SeededClassifier[],
  labelType: (m: SeededClassifier) => 'boolean' | 'integer' = () => 'boolean',
): Promise<Parsed> {
  for (const model of models) await seedClassifier(db, model, labelType(model));
  const text = `warehouse:\n  url: ${db.configUrl}\n  statement_timeout: 20s\ndefaults: { interval: 1h }\nmodels:\n${classifierYaml(db.schema, models)}`;
  return scrapeOnce(db, text);
}

/**
 * Takes one instant from the warehouse clock into `<schema>.base (t0)` and returns the SQL that reads it: rows
 * seeded against it (insertAged's `base`) keep exact ages, and so exact label delays, however long seeding takes.
 */
export async function ageBase(db: TestDb): Promise<string> {
  await db.writer.exec(`CREATE TABLE ${db.schema}.base AS SELECT now() AS t0`);
  return `(SELECT t0 FROM ${db.schema}.base)`;
}

/**
 * Inserts `rows` into `table` (schema-qualified; `columns` lists the columns they fill when not all), 200 rows a
 * statement. The value at `ageColumn` (1 by default) of each row is an age in seconds, stored as the timestamp
 * that long before `base`: an SQL instant, now() by default, or ageBase's.
 */
export async function insertAged(
  db: TestDb,
  table: string,
  rows: unknown[][],
  o: { columns?: string; ageColumn?: number; base?: string } = {},
): Promise<void> {
  const { ageColumn = 1, base = 'now()' } = o;
  for (let at = 0; at < rows.length; at += 200) {
    const chunk = rows.slice(at, at + 200);
    const width = (chunk[0] as unknown[]).length;
    const values = chunk.map(
      (_, r) =>
        `(${Array.from({ length: width }, (_, c) =>
          c === ageColumn
            ? `${base} - make_interval(secs => $${r * width + c + 1})`
            : `$${r * width + c + 1}`,
        ).join(', ')})`,
    );
    const into = o.columns ? `${table} (${o.columns})` : table;
    await db.writer.query(`INSERT INTO ${into} VALUES ${values.join(', ')}`, chunk.flat());
  }
}
