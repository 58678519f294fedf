/** A row of aggregates returned by a check's statement. Values are whatever the driver decoded. */
export type Row = Record<string, unknown>;

/** What a check sees: a read-only, timed-out transaction it may run statements in. */
export interface Queryable {
  query(sql: string, params?: readonly unknown[]): Promise<Row[]>;
}

export interface ReadOnlyOptions {
  /** Server-side statement_timeout for every statement of the transaction. */
  timeoutMs: number;
}

/**
 * The warehouse the checks read from. Every call to `readOnly` runs in its own
 * `BEGIN READ ONLY` transaction with `statement_timeout` set, so a check can never write
 * and never run away.
 */
export interface Warehouse {
  readonly driver: 'pg' | 'pglite' | 'duckdb';
  /** How many `readOnly` calls may usefully run at once (the pool size, 1 for PGlite). */
  readonly maxConcurrency: number;
  readOnly<T>(opts: ReadOnlyOptions, fn: (q: Queryable) => Promise<T>): Promise<T>;
  /** Cheap round trip used for `mlwatch_warehouse_up`; rejects when the warehouse cannot be reached. */
  ping(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

/** A read-write handle, used only by the demo seeder and tests, never by checks. */
export interface SqlWriter {
  query(sql: string, params?: readonly unknown[]): Promise<Row[]>;
  /** Runs a script of several statements (simple query protocol). */
  exec(sql: string): Promise<void>;
  close(): Promise<void>;
}
