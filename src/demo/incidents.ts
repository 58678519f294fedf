import type { SqlWriter } from '../warehouse/types.js';
import type { DemoFeeder } from './batches.js';
import { quoteSchema } from './schema.js';

/**
 * Faults the demo can inject, each reversible, so alerts fire for real and resolve again:
 * - stale: batches stop (the feeder pauses); freshness ages past the 15-minute line.
 * - nulls: a feature (income) goes 20 % NULL in the last hour and in every new batch.
 * - schema: a column is retyped (age: integer -> bigint); the schema check sees type_changed.
 * - drift: income shifts (x 2.5) over the last day and in every new batch; its PSI jumps.
 * Rewritten values are kept in side tables and written back when the incident is switched off.
 */
export const INCIDENTS = ['stale', 'nulls', 'schema', 'drift'] as const;
export type Incident = (typeof INCIDENTS)[number];

export function isIncident(name: string): name is Incident {
  return (INCIDENTS as readonly string[]).includes(name);
}

export class DemoIncidents {
  private readonly on = new Set<Incident>();
  private readonly s: string;

  constructor(
    private readonly w: SqlWriter,
    schema: string,
    private readonly feeder: DemoFeeder,
  ) {
    this.s = quoteSchema(schema);
  }

  active(): Incident[] {
    return INCIDENTS.filter((i) => this.on.has(i));
  }

  async set(name: Incident, enabled: boolean): Promise<void> {
    if (enabled === this.on.has(name)) return;
    await this.w.exec(
      `CREATE TABLE IF NOT EXISTS ${this.s}.sim_backup_nulls (id bigint PRIMARY KEY, income numeric);
       CREATE TABLE IF NOT EXISTS ${this.s}.sim_backup_drift (id bigint PRIMARY KEY, income numeric);`,
    );
    switch (name) {
      case 'stale':
        if (enabled) this.feeder.pause();
        else this.feeder.resume();
        break;
      case 'schema':
        await this.w.exec(
          `ALTER TABLE ${this.s}.applications ALTER COLUMN age TYPE ${enabled ? 'bigint' : 'integer'}`,
        );
        break;
      case 'nulls':
        if (enabled) await this.nullify("now() - interval '1 hour'", 'now()', []);
        else await this.restore('sim_backup_nulls');
        break;
      case 'drift':
        if (enabled) await this.shift("now() - interval '1 day'", 'now()', []);
        else await this.restore('sim_backup_drift');
        break;
    }
    // Recorded only once the warehouse took the change, so a failed switch can simply be retried.
    if (enabled) this.on.add(name);
    else this.on.delete(name);
  }

  /** The feeder's hook: rows of the batch just written get the active incidents too. */
  async afterBatch(from: Date, to: Date): Promise<void> {
    const range = ['$1::timestamptz', '$2::timestamptz'] as const;
    const params = [from.toISOString(), to.toISOString()];
    if (this.on.has('drift')) await this.shift(range[0], range[1], params, true);
    if (this.on.has('nulls')) await this.nullify(range[0], range[1], params, true);
  }

  private async nullify(from: string, to: string, params: string[], openStart = false): Promise<void> {
    await this.w.query(
      `WITH picked AS (
         INSERT INTO ${this.s}.sim_backup_nulls (id, income)
         SELECT id, income FROM ${this.s}.applications
         WHERE ingested_at ${openStart ? '>' : '>='} ${from} AND ingested_at <= ${to} AND income IS NOT NULL
           AND random() < 0.2
         ON CONFLICT (id) DO NOTHING RETURNING id)
       UPDATE ${this.s}.applications SET income = NULL WHERE id IN (SELECT id FROM picked)`,
      params,
    );
  }

  private async shift(from: string, to: string, params: string[], openStart = false): Promise<void> {
    await this.w.query(
      `WITH picked AS (
         INSERT INTO ${this.s}.sim_backup_drift (id, income)
         SELECT id, income FROM ${this.s}.applications
         WHERE ingested_at ${openStart ? '>' : '>='} ${from} AND ingested_at <= ${to} AND income IS NOT NULL
         ON CONFLICT (id) DO NOTHING RETURNING id)
       UPDATE ${this.s}.applications SET income = round(income * 2.5) WHERE id IN (SELECT id FROM picked)`,
      params,
    );
  }

  private async restore(table: 'sim_backup_nulls' | 'sim_backup_drift'): Promise<void> {
    await this.w.exec(
      `UPDATE ${this.s}.applications a SET income = b.income FROM ${this.s}.${table} b WHERE a.id = b.id;
       DELETE FROM ${this.s}.${table};`,
    );
  }
}
