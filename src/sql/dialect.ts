import { windowCount } from './window-count.js';

/**
 * What differs between SQL engines in the statements the check kinds build: how a bound value is written
 * (placeholder and cast), how a duration is bound, and the statement's clock. The kinds never write these
 * themselves: they ask the builder (builder.ts), which asks the dialect, so a second engine is a second
 * Dialect and its parity tests, not an edit in every kind.
 *
 * PostgreSQL and DuckDB; PGlite is PostgreSQL compiled to WebAssembly and shares PostgreSQL's dialect. DuckDB
 * reads PostgreSQL's spelling of nearly everything the kinds write (casts with ::, FILTER, DISTINCT ON,
 * percentile_cont ... WITHIN GROUP, ARRAY[...], = ANY); what it lacks is here.
 */

/** The types values are bound as, named as the kinds think of them (each dialect spells them its own way). */
export type SqlType =
  | 'float8'
  | 'float8[]'
  | 'int'
  | 'text'
  | 'text[]'
  | 'interval'
  | 'timestamptz'
  | 'timestamptz[]';

export interface Dialect {
  /** Recorded in check fingerprints and messages. */
  readonly name: string;
  /** The placeholder of the n-th bound value (1-based), cast to `type` (untyped: the engine infers it). */
  bind(n: number, type?: SqlType): string;
  /** How a duration is bound: the value handed to the driver for an `interval` placeholder. */
  interval(ms: number): unknown;
  /** The statement's clock: fixed for the whole transaction, so every window of a run ends at the same instant. */
  readonly now: string;
  /**
   * The statement's clock in whole microseconds since the epoch, as text: exact where a float8 of seconds is
   * not, for the incremental checks, which cut time into buckets on that clock.
   */
  readonly nowMicros: string;
  /**
   * A statement that makes the rest of the run's transaction plan without parallel workers, for statements small
   * by design (the incremental checks' fresh parts and relabeled predictions); undefined where an engine has
   * nothing to start (DuckDB's threads are in the process).
   */
  readonly serialRest?: string;
  /**
   * Undoes serialRest for the rest of the transaction (back to the value RESET gives: the server's, role's or
   * connection's; mlwatch sets none of its own), for a heavy statement that comes after all (an incremental
   * check that gives up keeping and runs its full statement).
   */
  readonly parallelAgain?: string;
  /** A timestamp as seconds since the epoch, float8. */
  epochSeconds(ts: string): string;
  /**
   * The seconds from `earlier` to `later` (timestamps), float8: the exact count of microseconds divided by a
   * million, or within an ulp of it (PostgreSQL's).
   */
  secondsBetween(later: string, earlier: string): string;
  /**
   * How many of `thresholds` (an array, sorted ascending) are <= `operand`; NULL for a NULL operand. PostgreSQL's
   * width_bucket(operand, thresholds), a binary search.
   */
  widthBucket(operand: string, thresholds: string): string;
  /**
   * information_schema.columns.data_type as PostgreSQL spells it (`double precision`, `text`, `integer[]`), so
   * the kinds that read the catalog (drift's numeric features, the schema hash and lock) see one spelling.
   */
  catalogType(dataType: string): string;
  /** The quotient of two integers, rounded toward zero (PostgreSQL's / on integers; DuckDB's / is a float's). */
  intDiv(dividend: string, divisor: string): string;
  /**
   * `select` (a SELECT of the columns to group by, nothing else) as a FROM item whose rows a GROUP BY `keys`
   * groups fastest on this engine: sorted by the keys first, or as it is.
   */
  groupable(select: string, keys: string): string;
  /**
   * Whether the engine reads a column at a time (DuckDB), so that a statement per column of a row's values
   * costs that column's read: then drift counts each feature's distinct values apart (drift-sql.ts).
   */
  readonly columnar: boolean;
  /**
   * A CTE (`name AS (...)`) of the predictions matching `where`, each with the LATEST label of its key (see
   * latestLabelJoin in src/checks/model/context.ts, which builds `q`): rows equal in `prediction` (key,
   * timestamp, identity) count once, and among a key's label rows the one that sorts first by `lt DESC, y DESC`
   * as PostgreSQL sorts (NULLS FIRST: a NULL timestamp wins, then on a tie a NULL label, then the larger label).
   */
  latestLabel(q: LatestLabelQuery): string;
  /**
   * The exact AUC's Mann-Whitney sum of window `i` over the rows of `ordered` (columns v, s with NaN as NULL,
   * y, w0..wN): `columns`, window functions over `partition` (undefined: all rows are one) ordered by s; `sum`,
   * an aggregate over those rows (grouped by anything finer than the partition, so the groups' sums add up);
   * `numerator`, the sum over the window's positives of the negatives below plus half the tied ones, from the
   * added-up `sum` and the window's scored `positives` and `negatives`.
   */
  mannWhitney(
    i: number,
    partition: string | undefined,
  ): {
    columns: string[];
    sum: string;
    numerator(sum: string, positives: string, negatives: string): string;
  };
}

/** What a dialect's latestLabel joins, every part already SQL (the predictions are `p`, the labels `lab`). */
export interface LatestLabelQuery {
  name: string;
  /** The CTE's columns over `p`: functions of `prediction`, each `expr AS name`. */
  columns: string;
  /** What tells one prediction from another: its key, its timestamp and the identity columns. */
  prediction: string[];
  /** `<predictions> p LEFT JOIN <labels> lab ON ...`. */
  from: string;
  where: string;
  /** The label's timestamp and the label as its task reads it (`y`), both over `lab`. */
  lt: string;
  y: string;
  /**
   * Where the task's label takes only the values 0 and 1 (binary classification): then DuckDB orders a key's
   * labels by one integer (see duckdb.latestLabel).
   */
  binary: boolean;
}

export const postgres: Dialect = {
  name: 'postgres',
  bind: (n, type) => (type === undefined ? `$${n}` : `$${n}::${type}`),
  // Seconds with a fraction: exact for any millisecond count, and read the same whatever IntervalStyle is.
  interval: (ms) => `${ms / 1000} seconds`,
  now: 'now()',
  // extract returns numeric since PostgreSQL 14: exact to the microsecond.
  nowMicros: '(extract(epoch FROM now()) * 1000000)::bigint::text',
  // PostgreSQL prices starting a worker at parallel_setup_cost (1000, about a thousand page reads) and chose
  // workers for statements of a few hundred rows; starting them took 30 to 40 ms on 2 CPUs, where the work
  // serially took 8 to 15 ms (bench/model-incremental.ts). A transaction-local setting: the next run's own.
  serialRest: "SELECT set_config('max_parallel_workers_per_gather', '0', true)",
  parallelAgain:
    "SELECT set_config(name, reset_val, true) FROM pg_settings WHERE name = 'max_parallel_workers_per_gather'",
  // date_part as below: the microseconds since the epoch divided once in float8, the same float8 as extract's
  // numeric cast (both correctly rounded; equal on 1,000,000 random timestamps), without a numeric per row (the
  // job statement reads each run's end).
  epochSeconds: (ts) => `date_part('epoch', ${ts})`,
  // date_part, not extract: since PostgreSQL 14 extract returns numeric, and building a numeric per row cost the
  // labels check's statement a sixth of its time (1,000,000 predictions, psql, 10 runs alternated: median
  // 2.26 s against 1.88 s, min 1.62 against 1.35). date_part adds the interval's whole days to its time in
  // float8: within an ulp of the exact value (4 % of 1,000,000 random differences off by one ulp, 2.2e-16
  // relative), where the percentiles' own interpolation rounds at that scale anyway.
  secondsBetween: (later, earlier) => `date_part('epoch', ${later} - ${earlier})`,
  widthBucket: (operand, thresholds) => `width_bucket(${operand}, ${thresholds})`,
  catalogType: (dataType) => dataType,
  intDiv: (dividend, divisor) => `(${dividend}) / (${divisor})`,
  // Sorted, behind OFFSET 0 so the planner keeps the sort and groups in order: hashing a million distinct keys
  // in the default 4 MB work_mem spills in batches (bench/peer-kinds.ts's duplicates: 670-750 ms hashed,
  // 320-365 ms sorted, the sort alone 205 ms; a larger work_mem made the hash slower still, 1.2-1.4 s).
  groupable: (select, keys) => `(${select} ORDER BY ${keys} OFFSET 0)`,
  columnar: false,
  // A join followed by DISTINCT ON the prediction: the planner runs the scans, the hash join and the sort in
  // parallel workers and reads each table once (a per-key `latest` joined back needs the window's keys as a
  // semi-join, which read the predictions twice and sorted every label serially: 1.4 s of the 14-day check's
  // 4.4 s on 1,000,000 rows, against 0.5 s this way).
  latestLabel: (q) => {
    const prediction = q.prediction.join(', ');
    return `${q.name} AS (
  SELECT DISTINCT ON (${prediction}) ${q.columns}, ${q.lt} AS lt, ${q.y} AS y
  FROM ${q.from}
  WHERE ${q.where}
  ORDER BY ${prediction}, ${q.lt} DESC, ${q.y} DESC
)`;
  },
  // One sort by (partition, s), shared by nested windows, and one window aggregate over it with two running
  // counts per window (a RANGE frame: ties included): at each row, the window's negatives scored <= s (le) and
  // its positives scored <= s (lp). Summed over the window's positives (le) and negatives (lp):
  // sum le = #(n < p) + T and sum lp = #(p < n) + T, T the tied pairs; as n_pos * n_neg = #(n < p) + #(p < n) + T,
  // the numerator #(n < p) + T / 2 is (sum le - sum lp + n_pos * n_neg) / 2. Against a running sum of negatives
  // and a second window aggregate over each score's peers (le - eq / 2), which spooled every row through a second
  // WindowAgg: the 14-day statement on 1,000,000 predictions 1.86-1.88 s against 2.20-2.25 s (psql, jit off,
  // min of 5, the values equal to the bit); bench/model-auc.ts's check 0.66x the pandas peer in the run before,
  // 0.44x after (each ratio from one run).
  mannWhitney: (i, partition) => {
    const over = `(${partition ? `PARTITION BY ${partition} ` : ''}ORDER BY s)`;
    return {
      columns: [
        `${windowCount(`w${i} AND y = 0`, over)} AS le${i}`,
        `${windowCount(`w${i} AND y = 1`, over)} AS lp${i}`,
      ],
      sum: `sum(CASE WHEN y = 1 THEN le${i} ELSE -lp${i} END) FILTER (WHERE w${i} AND y IS NOT NULL)`,
      numerator: (sum, positives, negatives) => `(${sum} + ${positives} * ${negatives}) * 0.5`,
    };
  },
};

/** DuckDB's catalog type names (upper case, modifiers included) in PostgreSQL's spelling; others kept as read. */
const DUCKDB_TYPES: Readonly<Record<string, string>> = {
  BOOLEAN: 'boolean',
  TINYINT: 'smallint',
  SMALLINT: 'smallint',
  INTEGER: 'integer',
  BIGINT: 'bigint',
  HUGEINT: 'numeric',
  FLOAT: 'real',
  DOUBLE: 'double precision',
  DECIMAL: 'numeric',
  VARCHAR: 'text',
  DATE: 'date',
  TIME: 'time without time zone',
  TIMESTAMP: 'timestamp without time zone',
  'TIMESTAMP WITH TIME ZONE': 'timestamp with time zone',
  INTERVAL: 'interval',
  UUID: 'uuid',
  BLOB: 'bytea',
  JSON: 'json',
};

function duckdbCatalogType(dataType: string): string {
  if (dataType.endsWith('[]')) return `${duckdbCatalogType(dataType.slice(0, -2))}[]`;
  return DUCKDB_TYPES[dataType.replace(/\(.*\)$/, '')] ?? dataType;
}

/**
 * DuckDB (src/warehouse/duckdb.ts). Its casts take PostgreSQL's type names (float8, int, text, interval,
 * timestamptz, and [] for lists); arrays are bound as lists. It has no width_bucket: a count over the list,
 * linear in its length, which is at most a few dozen edges in every statement that uses it.
 */
export const duckdb: Dialect = {
  name: 'duckdb',
  bind: postgres.bind,
  interval: postgres.interval,
  now: 'now()',
  nowMicros: 'epoch_us(now())::text',
  // Whole microseconds, then one division: the exact value's float8 (PostgreSQL's date_part within an ulp of it). The difference of
  // two timestamptz is an interval that DuckDB builds through ICU row by row: the labels check's delays took
  // 1,190 ms that way on 1,000,000 predictions, 394 ms as microseconds (bench/duckdb-data-kinds.ts).
  epochSeconds: (ts) => `epoch_us(${ts})::float8 / 1000000`,
  secondsBetween: (later, earlier) => `(epoch_us(${later}) - epoch_us(${earlier}))::float8 / 1000000`,
  widthBucket: (operand, thresholds) =>
    `CASE WHEN (${operand}) IS NULL THEN NULL ELSE len(list_filter(${thresholds}, e -> e <= (${operand}))) END`,
  catalogType: duckdbCatalogType,
  intDiv: (dividend, divisor) => `(${dividend}) // (${divisor})`,
  // As it is: DuckDB's hash aggregate groups a million distinct keys in 50-60 ms, a sort first took 90-150.
  groupable: (select) => `(${select})`,
  columnar: true,
  // The join, then one GROUP BY the prediction that both keeps one row per prediction and picks its latest
  // label with an aggregate: DuckDB runs DISTINCT ON as a sort of the joined rows, which alone took 382 ms of
  // the 14-day check's 1,134 ms on 1,000,000 predictions in Parquet (bench/duckdb.ts, quiet machine). A
  // binary label is 0, 1 or NULL, so the order `lt DESC NULLS FIRST, y DESC NULLS FIRST` is one BIGINT key
  // (arg_max_null's for the label's timestamp; its max() holds the label itself): the timestamp in microseconds (PostgreSQL's resolution) clamped to +/-2^60 (36,000
  // years either side of 1970; two labels of one key past that tie on time), a NULL one above every other and
  // +/-infinity (whose epoch_us is NULL) next to it or below all, times 4, plus 3 for a NULL label, 2 for 1,
  // 1 for 0. A HUGEINT key without the clamp cost the join 10 % more CPU. Other labels take max() of a struct
  // (timestamp, label), which DuckDB orders NULL above any value field by field, as the sort does, NaN above
  // numbers included; it costs more than the integer key: the whole check took 1.3 times the CPU with it
  // (1,424 ms against 1,081 ms, loaded machine).
  latestLabel: (q) => {
    const edge = 1152921504606846976n; // 2^60
    // CASE, not coalesce: DuckDB's greatest and least skip a NULL, so they never give one back.
    const at = `CASE WHEN epoch_us(${q.lt}) IS NOT NULL THEN least(greatest(epoch_us(${q.lt}), -${edge}), ${edge}) WHEN ${q.lt} IS NULL THEN ${edge + 2n} WHEN ${q.lt} > '1970-01-01' THEN ${edge + 1n} ELSE -${edge + 1n} END`;
    const key = `${at} * 4 + coalesce((${q.y})::int + 1, 3)`;
    // The label is the key's two low bits, so max(key) gives it without carrying a value: less CPU than
    // arg_max_null (the join and its GROUP BY 485-531 ms against 548-587 ms, quiet machine). `& 3`, not `% 4`:
    // a key before 1970 is negative, and % keeps the sign.
    const latest = q.binary
      ? `arg_max_null(${q.lt}, ${key}) AS lt, CASE max(${key}) & 3 WHEN 2 THEN 1::float8 WHEN 1 THEN 0::float8 END AS y`
      : `max({'t': ${q.lt}, 'y': ${q.y}}).t AS lt, max({'t': ${q.lt}, 'y': ${q.y}}).y AS y`;
    return `${q.name} AS (
  SELECT ${q.columns}, ${latest}
  FROM ${q.from}
  WHERE ${q.where}
  GROUP BY ${q.prediction.join(', ')}
)`;
  },
  // Ranks instead of FILTERed running sums: per window, the labeled scored rows' average rank (the first rank
  // of its tie, rank(), and the last, a count up to its peers, share one sort), summed over positives, less
  // n_pos (n_pos + 1) / 2, is the sum over positives of the negatives below plus half the tied ones
  // (Mann-Whitney). DuckDB runs the two FILTERed window sums slower: the 14-day check took 1.26 times the
  // CPU with them (1,365 ms against 1,081 ms, loaded machine). Each window sorts its own rows, and still ties
  // with the sums' one sort at [1d, 7d, 14d] (2,278 against 2,244 ms CPU, lower wall-clock minimum). PostgreSQL's
  // running counts in one window aggregate measured no faster here (bench/duckdb.ts: 563 ms median against 531).
  mannWhitney: (i, partition) => {
    const ranked = `(w${i} AND y IS NOT NULL AND s IS NOT NULL)`;
    const over = `OVER (PARTITION BY ${partition ? `${partition}, ` : ''}${ranked} ORDER BY s)`;
    return {
      columns: [`CASE WHEN ${ranked} THEN (rank() ${over} + count(*) ${over}) * 0.5 END AS ar${i}`],
      sum: `sum(ar${i}) FILTER (WHERE w${i} AND y = 1)`,
      numerator: (sum, positives) => `${sum} - ${positives} * (${positives} + 1) * 0.5`,
    };
  },
};

/** The dialect of a warehouse URL (already validated by the config schema): PostgreSQL and PGlite alike. */
export function dialectOf(url: string): Dialect {
  return url.startsWith('duckdb:') ? duckdb : postgres;
}
