import { writeFile } from 'node:fs/promises';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { PGlite } from '@electric-sql/pglite';
import { quoteIdent } from '../../sql/identifiers.js';

/**
 * Rows from the simulator (the embedded PGlite that generates the story and applies the incidents) into the
 * writer's DuckDB, typed as the simulator types them: PGlite writes them as CSV (COPY TO /dev/blob, one bulk
 * read rather than a JavaScript object per row), DuckDB reads that file with every column's type given.
 * Text in between is exact here: numerics keep their digits, floats print their shortest exact form, and
 * timestamps go as UTC with microseconds, whatever either session's time zone.
 */

/** Each simulator type the demo's relations use, as DuckDB spells it. */
const DUCKDB_TYPES: Readonly<Record<string, string>> = {
  bigint: 'BIGINT',
  integer: 'INTEGER',
  smallint: 'SMALLINT',
  // The demo's numerics are whole amounts and one decimal: 15 digits and 3 decimals hold them exactly, in a
  // 64-bit integer (DuckDB reads DECIMAL(38, 10), a 128-bit one, from CSV ten times slower: 0.5 s for the
  // applications). DuckDB's catalog reports any DECIMAL as numeric, so the schema check expects numeric on both.
  numeric: 'DECIMAL(18, 3)',
  'double precision': 'DOUBLE',
  real: 'FLOAT',
  text: 'VARCHAR',
  boolean: 'BOOLEAN',
  'timestamp with time zone': 'TIMESTAMPTZ',
};

export interface Column {
  name: string;
  /** As the simulator's information_schema names it: also what tells that the `schema` incident retyped it. */
  pgType: string;
}

/** A relation's columns as one string: when it changes, every file of the relation is written again. */
export const signature = (columns: readonly Column[]) =>
  columns.map((c) => `${c.name} ${c.pgType}`).join(', ');

/** The columns of every relation of `schema` in the simulator, in order, by relation. */
export async function simulatorColumns(pg: PGlite, schema: string): Promise<Map<string, Column[]>> {
  const { rows } = await pg.query<{ t: string; name: string; type: string }>(
    `SELECT table_name::text AS t, column_name::text AS name, data_type::text AS type
     FROM information_schema.columns WHERE table_schema = $1 ORDER BY table_name, ordinal_position`,
    [schema],
  );
  const byTable = new Map<string, Column[]>();
  for (const r of rows) byTable.set(r.t, [...(byTable.get(r.t) ?? []), { name: r.name, pgType: r.type }]);
  return byTable;
}

function duckdbType(c: Column): string {
  const t = DUCKDB_TYPES[c.pgType];
  if (t === undefined) throw new Error(`the demo's lake has no Parquet type for ${c.name} ${c.pgType}`);
  return t;
}

export interface StageOptions {
  /** The simulator's relation, already quoted: "mlwatch_demo"."applications". */
  from: string;
  columns: readonly Column[];
  /** Which rows, in the simulator's SQL (built from Dates, never from input). */
  where: string;
  /** The DuckDB table to (re)create with them. */
  into: string;
  /** Where the CSV goes on its way: a file outside every folder the exporter reads. */
  csv: string;
}

/** Copies the matching rows into the DuckDB table `into`, replacing it; returns how many there are. */
export async function stageRows(pg: PGlite, duck: DuckDBConnection, o: StageOptions): Promise<number> {
  const select = o.columns.map((c) =>
    c.pgType === 'timestamp with time zone'
      ? `to_char(${quoteIdent(c.name)} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`
      : quoteIdent(c.name),
  );
  const copied = await pg.query(
    `COPY (SELECT ${select.join(', ')} FROM ${o.from} WHERE ${o.where}) TO '/dev/blob' WITH (FORMAT csv)`,
  );
  await writeFile(o.csv, Buffer.from((await copied.blob?.arrayBuffer()) ?? new ArrayBuffer(0)));
  const types = o.columns.map((c) => `'${c.name.replace(/'/g, "''")}': '${duckdbType(c)}'`).join(', ');
  // PostgreSQL writes NULL unquoted and an empty string as "": only the former is NULL.
  await duck.run(
    `CREATE OR REPLACE TABLE ${quoteIdent(o.into)} AS SELECT * FROM read_csv('${o.csv.replace(/'/g, "''")}',
       header = false, auto_detect = false, allow_quoted_nulls = false, columns = {${types}})`,
  );
  const counted = await duck.runAndReadAll(`SELECT count(*)::INTEGER AS n FROM ${quoteIdent(o.into)}`);
  return Number(counted.getRowObjectsJS()[0]?.n ?? 0);
}
