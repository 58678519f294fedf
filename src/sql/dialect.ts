/**
 * What differs between SQL engines in the statements the check kinds build: how a bound value is written
 * (placeholder and cast), how a duration is bound, and the statement's clock. The kinds never write these
 * themselves: they ask the builder (builder.ts), which asks the dialect, so a second engine is a second
 * Dialect and its parity tests, not an edit in every kind.
 *
 * PostgreSQL is the only engine today; PGlite is PostgreSQL compiled to WebAssembly and shares its dialect.
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
}

export const postgres: Dialect = {
  name: 'postgres',
  bind: (n, type) => (type === undefined ? `$${n}` : `$${n}::${type}`),
  // Seconds with a fraction: exact for any millisecond count, and read the same whatever IntervalStyle is.
  interval: (ms) => `${ms / 1000} seconds`,
  now: 'now()',
  // extract returns numeric since PostgreSQL 14: exact to the microsecond.
  nowMicros: '(extract(epoch FROM now()) * 1000000)::bigint::text',
};

/** The dialect of a warehouse URL (already validated by the config schema): PostgreSQL and PGlite alike. */
export function dialectOf(_url: string): Dialect {
  return postgres;
}
