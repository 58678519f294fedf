/**
 * The warehouse `mlwatch demo` writes the story to and its checks read (--engine): the embedded PGlite by
 * default, the PostgreSQL of --warehouse-url, or DuckDB over Parquet files the demo writes (src/demo/lake/).
 */
export const DEMO_ENGINES = ['pglite', 'postgres', 'duckdb'] as const;
export type DemoEngine = (typeof DEMO_ENGINES)[number];

/** The engine the flags ask for, or the message that says what to change. */
export function demoEngine(
  engine: string | undefined,
  warehouseUrl: string | undefined,
): { engine: DemoEngine } | { error: string } {
  const chosen = engine ?? (warehouseUrl === undefined ? 'pglite' : 'postgres');
  if (!(DEMO_ENGINES as readonly string[]).includes(chosen)) {
    return {
      error: `--engine: no engine '${chosen}'; use pglite (embedded, the default), postgres (with --warehouse-url) or duckdb (Parquet files the demo writes, read by DuckDB)`,
    };
  }
  if (chosen === 'postgres' && warehouseUrl === undefined) {
    return {
      error:
        '--engine postgres needs --warehouse-url postgresql://user@host:5432/db (its schema is replaced)',
    };
  }
  if (chosen !== 'postgres' && warehouseUrl !== undefined) {
    return {
      error: `--engine ${chosen} reads no PostgreSQL: drop --warehouse-url, or pass --engine postgres to seed that server`,
    };
  }
  return { engine: chosen as DemoEngine };
}
