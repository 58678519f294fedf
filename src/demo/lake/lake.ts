import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import type { PGlite } from '@electric-sql/pglite';
import { quoteIdent } from '../../sql/identifiers.js';
import { loadDuckdbDriver } from '../../warehouse/duckdb.js';
import { quoteSchema } from '../schema.js';
import { changedFiles, pathLiteral } from './changed-files.js';
import type { FileGate } from './gate.js';
import { LAKE_TABLES, type LakeTable, tableDir } from './layout.js';
import { batchRange, dayRanges, type FileRange, hourGroups, inRange } from './ranges.js';
import { type Column, signature, simulatorColumns, stageRows } from './stage.js';

/**
 * The demo's story as Parquet files, kept equal to the simulator's tables (src/demo/lake/layout.ts for the
 * folders, ranges.ts for which rows each file holds):
 * - seed: the history, one file per table and day;
 * - append: after each batch (and the incidents' rewrite of its rows), one new file per table that got rows,
 *   then the batch files of a closed hour merged into one;
 * - reconcile: after an incident switch, which rewrites old rows in the simulator (nulls over the last hour,
 *   scores over 14 days, a retyped column...), every table is read again and only the files whose rows changed
 *   are written again, as a lake's writer replaces a corrected partition; a retyped column rewrites its table.
 * A file is written beside its final name (`.parquet.tmp`, which the `*.parquet` globs skip) and renamed into
 * place under the gate's write side (gate.ts), so a check never reads half a file or half a change. Operations
 * run one at a time; one that fails leaves the lake marked for a full reconcile before the next append.
 */

interface TableFiles {
  table: LakeTable;
  dir: string;
  /** Contiguous, in time order: what each file of the folder holds. */
  ranges: FileRange[];
  /** The simulator's columns the files were written with. */
  signature: string;
}

/** One table's change: files renamed into place, files removed, then the bookkeeping that describes them. */
interface Commit {
  moves: { tmp: string; path: string }[];
  removals: string[];
  apply: () => void;
}

export interface LakeOptions {
  /** The simulator. */
  pg: PGlite;
  /** The simulator's schema. */
  schema: string;
  /** The lake's folder: one folder per table in it, and the writer's scratch space. */
  root: string;
  gate: FileGate;
}

export class DemoLake {
  readonly #tables: TableFiles[];
  #queue: Promise<void> = Promise.resolve();
  #dirty = false;
  #closed = false;

  private constructor(
    private readonly o: LakeOptions,
    private readonly db: DuckDBInstance,
    private readonly duck: DuckDBConnection,
  ) {
    this.#tables = LAKE_TABLES.map((table) => ({
      table,
      dir: tableDir(o.root, table),
      ranges: [],
      signature: '',
    }));
  }

  /**
   * The writer: an in-memory DuckDB of its own, the only connection that writes files (the exporter's reads
   * them read-only, src/warehouse/duckdb.ts). Throws the driver's install hint when DuckDB is not installed.
   */
  static async open(o: LakeOptions): Promise<DemoLake> {
    quoteSchema(o.schema);
    const api = await loadDuckdbDriver();
    const db = await api.DuckDBInstance.create(':memory:', {
      autoload_known_extensions: 'false',
      autoinstall_known_extensions: 'false',
    });
    const lake = new DemoLake(o, db, await db.connect());
    await mkdir(lake.#scratch, { recursive: true });
    for (const t of lake.#tables) await mkdir(t.dir, { recursive: true });
    return lake;
  }

  /** Writes the history up to `until`, one file per table and UTC day. */
  seed(until: Date): Promise<void> {
    return this.#serial(async () => {
      const columns = await simulatorColumns(this.o.pg, this.o.schema);
      const commits: Commit[] = [];
      for (const t of this.#tables) {
        const cols = this.#columns(columns, t);
        await this.#stage(t, cols, inRange(quoteIdent(t.table.time), undefined, until));
        const days = await this.duck.runAndReadAll(
          `SELECT DISTINCT floor(epoch(${quoteIdent(t.table.time)}) / 86400)::BIGINT AS d FROM ${this.#staged(t)} ORDER BY d`,
        );
        const ranges = dayRanges(
          days.getRowObjectsJS().map((r) => Number(r.d)),
          until,
        );
        const moves = [];
        for (const r of ranges) moves.push(await this.#write(t, this.#staged(t), r));
        commits.push({
          moves,
          removals: [],
          apply: () => Object.assign(t, { ranges, signature: signature(cols) }),
        });
      }
      await this.#publish(commits);
    });
  }

  /** After a batch up to `to`: a new file per table with rows past its last file, then compaction. */
  append(to: Date): Promise<void> {
    return this.#serial(async () => {
      const columns = await simulatorColumns(this.o.pg, this.o.schema);
      // A retyped column (the schema incident) rewrites its table first, so no folder mixes two types.
      if (this.#dirty || this.#tables.some((t) => signature(this.#columns(columns, t)) !== t.signature)) {
        await this.#reconcile(columns);
      }
      const commits: Commit[] = [];
      for (const t of this.#tables) {
        const lo = t.ranges.at(-1)?.hi;
        if (lo !== undefined && lo >= to) continue;
        const rows = await this.#stage(
          t,
          this.#columns(columns, t),
          inRange(quoteIdent(t.table.time), lo, to),
        );
        if (rows === 0) continue;
        const range = batchRange(lo, to);
        commits.push({
          moves: [await this.#write(t, this.#staged(t), range)],
          removals: [],
          apply: () => t.ranges.push(range),
        });
      }
      await this.#publish(commits);
      await this.#compact(to);
    });
  }

  /** After an incident switch: every file whose rows changed in the simulator is written again. */
  reconcile(): Promise<void> {
    return this.#serial(async () => this.#reconcile(await simulatorColumns(this.o.pg, this.o.schema)));
  }

  /** What each file of a table holds, in time order (tests hold the files to it). */
  ranges(table: LakeTable['name']): readonly FileRange[] {
    return [...(this.#tables.find((t) => t.table.name === table)?.ranges ?? [])];
  }

  /** Waits for the operation in flight; the files stay (the demo removes its folder). */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#queue;
    this.duck.closeSync();
    this.db.closeSync();
  }

  async #reconcile(columns: Map<string, Column[]>): Promise<void> {
    const commits: Commit[] = [];
    for (const t of this.#tables) {
      const last = t.ranges.at(-1);
      if (last === undefined) continue;
      const cols = this.#columns(columns, t);
      await this.#stage(t, cols, inRange(quoteIdent(t.table.time), undefined, last.hi));
      const onDisk = await readdir(t.dir);
      const retyped = signature(cols) !== t.signature;
      const changed =
        retyped || !onDisk.some((f) => f.endsWith('.parquet'))
          ? new Set(t.ranges.map((r) => join(t.dir, r.file)))
          : await changedFiles(this.duck, {
              staged: `staged_${t.table.name}`,
              time: t.table.time,
              dir: t.dir,
              ranges: t.ranges,
            });
      const moves = [];
      for (const r of t.ranges)
        if (changed.has(join(t.dir, r.file))) moves.push(await this.#write(t, this.#staged(t), r));
      // What no range names: a file or a .tmp that a failed operation left behind.
      const named = new Set(t.ranges.map((r) => r.file));
      const removals = onDisk.filter((f) => !named.has(f)).map((f) => join(t.dir, f));
      if (moves.length + removals.length > 0 || retyped) {
        commits.push({ moves, removals, apply: () => Object.assign(t, { signature: signature(cols) }) });
      }
    }
    await this.#publish(commits);
    this.#dirty = false;
  }

  /** Merges the batch files of each closed hour into one file. */
  async #compact(now: Date): Promise<void> {
    const commits: Commit[] = [];
    for (const t of this.#tables) {
      for (const { merged, members } of hourGroups(t.ranges, now)) {
        const paths = members.map((m) => join(t.dir, m.file));
        const source = `read_parquet([${paths.map(pathLiteral).join(', ')}])`;
        commits.push({
          moves: [await this.#write(t, source, merged)],
          removals: paths,
          apply: () => t.ranges.splice(t.ranges.indexOf(members[0] as FileRange), members.length, merged),
        });
      }
    }
    await this.#publish(commits);
  }

  #columns(all: Map<string, Column[]>, t: TableFiles): Column[] {
    const cols = all.get(t.table.name);
    if (!cols) throw new Error(`the simulator has no relation ${this.o.schema}.${t.table.name}`);
    return cols;
  }

  get #scratch(): string {
    return join(this.o.root, '.staging');
  }

  #staged(t: TableFiles): string {
    return quoteIdent(`staged_${t.table.name}`);
  }

  #stage(t: TableFiles, columns: readonly Column[], where: string): Promise<number> {
    return stageRows(this.o.pg, this.duck, {
      from: `${quoteSchema(this.o.schema)}.${quoteIdent(t.table.name)}`,
      columns,
      where,
      into: `staged_${t.table.name}`,
      csv: join(this.#scratch, `${t.table.name}.csv`),
    });
  }

  /** Writes the rows of `source` in `range` to the range's file, beside it for now. */
  async #write(t: TableFiles, source: string, range: FileRange): Promise<{ tmp: string; path: string }> {
    const path = join(t.dir, range.file);
    const tmp = `${path}.tmp`;
    const col = quoteIdent(t.table.time);
    await this.duck.run(
      `COPY (SELECT * FROM ${source} WHERE ${inRange(col, range.lo, range.hi)} ORDER BY ${col})
       TO ${pathLiteral(tmp)} (FORMAT parquet)`,
    );
    return { tmp, path };
  }

  /** Swaps the commits' files in while no check reads, each table's bookkeeping once its files are in place. */
  async #publish(commits: readonly Commit[]): Promise<void> {
    if (commits.length === 0) return;
    await this.o.gate.write(async () => {
      for (const c of commits) {
        for (const m of c.moves) await rename(m.tmp, m.path);
        for (const p of c.removals) await rm(p, { force: true });
        c.apply();
      }
    });
  }

  #serial(op: () => Promise<void>): Promise<void> {
    const run = this.#queue.then(async () => {
      if (this.#closed) throw new Error('the demo lake is closed');
      try {
        await op();
      } catch (err) {
        this.#dirty = true;
        throw err;
      }
    });
    this.#queue = run.catch(() => {});
    return run;
  }
}
