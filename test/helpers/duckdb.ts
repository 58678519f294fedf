/**
 * The DuckDB driver for tests that need it beside the code under test (an independent reader of files): an
 * optional dependency, so without it those tests skip with the reason, and `npm test` passes with Node alone
 * and `npm install --omit=optional`; under CI (the CI environment variable, .ci/run) a driver that cannot load
 * fails the file instead, as test/helpers/tools.ts does for programs on PATH.
 */
export type DuckdbApi = typeof import('@duckdb/node-api');

export const DUCKDB_MISSING =
  'the optional dependency @duckdb/node-api cannot load (npm install without --omit=optional installs it)';

export async function loadDuckdbForTests(): Promise<DuckdbApi | undefined> {
  try {
    return await import('@duckdb/node-api');
  } catch (err) {
    if (process.env.CI) throw new Error(`${DUCKDB_MISSING} and CI is set: ${(err as Error).message}`);
    console.warn(`skipped: ${DUCKDB_MISSING}`);
    return undefined;
  }
}

/** Rows of one statement on a connection, as plain objects with numbers for DuckDB's 64-bit integers. */
export async function duckRows(
  c: import('@duckdb/node-api').DuckDBConnection,
  sql: string,
): Promise<Record<string, unknown>[]> {
  return (await c.runAndReadAll(sql))
    .getRowObjectsJS()
    .map((r) =>
      Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v])),
    );
}
