import { DuckDBInstance } from '@duckdb/node-api';
import type { SqlWriter } from '../../src/warehouse/types.js';

/**
 * Copies every table and view of `schema` from a PostgreSQL (or PGlite) warehouse into a new DuckDB file at
 * `path`, as tables of the same schema, types mapped to DuckDB's (numeric as DECIMAL(38, 10), which the catalog
 * reports as numeric again), every value as it is: the engine parity tests then run the same checks on both.
 * Timestamps travel as UTC text with microseconds, so nothing is rounded.
 */

const TYPES: Record<string, string> = {
  bigint: 'BIGINT',
  integer: 'INTEGER',
  smallint: 'SMALLINT',
  numeric: 'DECIMAL(38, 10)',
  'double precision': 'DOUBLE',
  real: 'FLOAT',
  text: 'VARCHAR',
  'character varying': 'VARCHAR',
  boolean: 'BOOLEAN',
  'timestamp with time zone': 'TIMESTAMPTZ',
  'timestamp without time zone': 'TIMESTAMP',
};

export async function copyToDuckdb(w: SqlWriter, schema: string, path: string): Promise<string[]> {
  const relations = await w.query(
    'SELECT table_name::text AS name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1',
    [schema],
  );
  const db = await DuckDBInstance.create(path);
  const c = await db.connect();
  try {
    await c.run(`CREATE SCHEMA "${schema}"`);
    for (const { name } of relations) {
      const cols = await w.query(
        `SELECT column_name::text AS c, data_type::text AS t FROM information_schema.columns
         WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`,
        [schema, name],
      );
      const typeOf = (t: unknown) => {
        const d = TYPES[String(t)];
        if (d === undefined) throw new Error(`copyToDuckdb: no DuckDB type for ${String(t)}`);
        return d;
      };
      // Appended as text into a staging table, then cast by DuckDB into the table itself.
      const staging = `"${schema}"."${String(name)}__text"`;
      await c.run(`CREATE TABLE ${staging} (${cols.map((x) => `"${x.c}" VARCHAR`).join(', ')})`);
      // As text, read back by DuckDB's casts: exact for every type here (numeric's digits, timestamps to the µs).
      const asText = cols.map((x) =>
        String(x.t).startsWith('timestamp with')
          ? `to_char("${x.c}" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS "${x.c}"`
          : `"${x.c}"::text AS "${x.c}"`,
      );
      const rows = await w.query(`SELECT ${asText.join(', ')} FROM "${schema}"."${String(name)}"`);
      const app = await c.createAppender(`${String(name)}__text`, schema);
      for (const r of rows) {
        for (const x of cols) {
          const v = r[String(x.c)];
          if (v === null || v === undefined) app.appendNull();
          else app.appendVarchar(String(v));
        }
        app.endRow();
      }
      app.closeSync();
      const casts = cols.map((x) => `CAST("${x.c}" AS ${typeOf(x.t)}) AS "${x.c}"`);
      await c.run(`CREATE TABLE "${schema}"."${String(name)}" AS SELECT ${casts.join(', ')} FROM ${staging}`);
      await c.run(`DROP TABLE ${staging}`);
    }
  } finally {
    c.closeSync();
    db.closeSync();
  }
  return relations.map((r) => String(r.name));
}

/**
 * Writes every table of `schema` in the DuckDB file at `path` to files under `dir`: Parquet, except the tables
 * named in `as` (csv or json). Returns warehouse.files for a config, by table name.
 */
export async function exportFiles(
  path: string,
  schema: string,
  dir: string,
  as: Record<string, 'csv' | 'json'> = {},
): Promise<Record<string, Record<string, unknown>>> {
  const db = await DuckDBInstance.create(path);
  const c = await db.connect();
  const files: Record<string, Record<string, unknown>> = {};
  try {
    const tables = (
      await c.runAndReadAll(
        `SELECT table_name FROM information_schema.tables WHERE table_schema = '${schema}' ORDER BY 1`,
      )
    )
      .getRowObjectsJS()
      .map((r) => String(r.table_name));
    for (const t of tables) {
      const format = as[t] ?? 'parquet';
      const file = `${dir}/${t}.${format}`;
      const options =
        format === 'parquet' ? 'FORMAT parquet' : format === 'csv' ? 'FORMAT csv, HEADER' : 'FORMAT json';
      await c.run(`COPY "${schema}"."${t}" TO '${file}' (${options})`);
      // JSON keeps no types: DuckDB reads its timestamps as text unless told.
      const stamps = (
        await c.runAndReadAll(
          `SELECT column_name FROM information_schema.columns WHERE table_schema = '${schema}' AND table_name = '${t}' AND data_type = 'TIMESTAMP WITH TIME ZONE'`,
        )
      )
        .getRowObjectsJS()
        .map((r) => String(r.column_name));
      files[t] = {
        [format]: file,
        ...(format === 'json' && stamps.length > 0
          ? { types: Object.fromEntries(stamps.map((n) => [n, 'timestamptz'])) }
          : {}),
      };
    }
  } finally {
    c.closeSync();
    db.closeSync();
  }
  return files;
}
