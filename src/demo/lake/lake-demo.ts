import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import type { LoadedConfig } from '../../config/load.js';
import { openWarehouse } from '../../warehouse/open.js';
import type { Warehouse } from '../../warehouse/types.js';
import type { Incident } from '../incidents.js';
import { FileGate, gatedWarehouse } from './gate.js';
import { DemoLake } from './lake.js';

/**
 * `mlwatch demo --engine duckdb`: the simulator (an embedded PGlite: generation and incidents are the same SQL
 * as the PGlite demo's) writes its story to a lake of Parquet files in a temporary folder, and the exporter reads
 * that folder through DuckDB, as a user's exporter reads the files a batch job writes. This is the glue: the
 * folder, the writer, the gate both sides share, and the hooks the feeder and the incident switches call.
 */
export class LakeDemo {
  private constructor(
    readonly root: string,
    readonly lake: DemoLake,
    private readonly gate: FileGate,
  ) {}

  /** A new folder and its writer; throws the DuckDB driver's install hint when it is missing. */
  static async open(pg: PGlite, schema: string): Promise<LakeDemo> {
    const root = await mkdtemp(join(tmpdir(), 'mlwatch-demo-lake-'));
    const gate = new FileGate();
    try {
      return new LakeDemo(root, await DemoLake.open({ pg, schema, root, gate }), gate);
    } catch (err) {
      await rm(root, { recursive: true, force: true });
      throw err;
    }
  }

  /** The exporter's warehouse: DuckDB over the folder, read-only as any, each check behind the gate. */
  openWarehouse(config: LoadedConfig): Warehouse {
    return gatedWarehouse(openWarehouse(config.warehouse), this.gate);
  }

  /** The feeder's hook, after the incidents rewrote the batch's rows: the batch's files. */
  afterBatch(to: Date): Promise<void> {
    return this.lake.append(to);
  }

  /**
   * The incident switches' hook: the files whose rows the switch rewrote, before the switch answers (`stale`
   * takes the held-back applications out of their files, and puts them back).
   */
  afterSwitch = async (name: Incident, enabled: boolean): Promise<void> => {
    try {
      await this.lake.reconcile();
    } catch (err) {
      throw new Error(
        `${name} is ${enabled ? 'on' : 'off'} in the simulator, but its Parquet files could not be written (${(err as Error).message}); the next batch writes them`,
      );
    }
  };

  /** Stops writing and removes the folder: the demo's files live as long as the demo. */
  async close(): Promise<void> {
    await this.lake.close().catch(() => {});
    await rm(this.root, { recursive: true, force: true });
  }
}
