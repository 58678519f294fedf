import type { Logger } from 'pino';
import type { CheckMemory, MemoryWrite, SavedMemory } from '../../checks/types.js';
import type { StateDb, StateTx } from './db.js';

/** A check's memory must stay small: a 14-day window of hourly buckets is 336 parts of a few hundred bytes. */
export const MAX_MEMORY_PARTS = 10_000;
/** Rows of checks that left the config: dropped at a first save once nobody saved them for this long. */
const FORGET_AFTER = '7 days';
/** One warning per this long at most while the store cannot be used: a check runs every minute. */
const WARN_EVERY_MS = 5 * 60_000;

/**
 * Check memory in the state store (migration 10). Every load reads one snapshot (REPEATABLE READ), every save
 * is one transaction, so a load never mixes two saves. A save from a known revision updates only while the
 * stored revision is still that one: two replicas that both ran a check (no coordination, or a lock that
 * moved) cannot interleave their parts; the loser is told 'conflict' and reads the winner's state next run.
 */
export class StoreCheckMemory implements CheckMemory {
  private lastWarnAt = 0;

  constructor(
    private readonly o: {
      db: StateDb;
      schemaSql: string;
      isReady: () => boolean;
      /** Settles when the store's first migration attempt is over, ready or not. */
      started?: Promise<unknown>;
      log: Logger;
    },
  ) {}

  async load(id: string, fingerprint: string, known: number | undefined) {
    return this.guard('load', id, (tx) => this.read(tx, id, fingerprint, known));
  }

  async save(id: string, fingerprint: string, w: MemoryWrite) {
    if (w.parts.size > MAX_MEMORY_PARTS)
      throw new Error(`check memory of ${id}: ${w.parts.size} parts, more than ${MAX_MEMORY_PARTS}`);
    return this.guard('save', id, (tx) => this.write(tx, id, fingerprint, w));
  }

  private async guard<T>(what: string, id: string, fn: (tx: StateTx) => Promise<T>): Promise<T> {
    await this.o.started;
    if (!this.o.isReady()) throw new Error('the state store is not ready');
    try {
      return await this.o.db.transaction(async (tx) => {
        await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
        return fn(tx);
      });
    } catch (err) {
      // The check goes on from what the process remembers; say so now and then, not every minute.
      if (Date.now() - this.lastWarnAt >= WARN_EVERY_MS) {
        this.lastWarnAt = Date.now();
        this.o.log.warn(
          { check: id, err: (err as Error).message },
          `check memory ${what} failed; the check keeps its state in the process until the state store answers`,
        );
      }
      throw err;
    }
  }

  private async read(
    tx: StateTx,
    id: string,
    fingerprint: string,
    known: number | undefined,
  ): Promise<SavedMemory | 'unchanged' | undefined> {
    const s = this.o.schemaSql;
    const [head] = await tx.query(
      `SELECT fingerprint, revision, header::text AS header FROM ${s}.check_memory WHERE check_id = $1`,
      [id],
    );
    if (head === undefined || head.fingerprint !== fingerprint) return undefined;
    const revision = Number(head.revision);
    if (revision === known) return 'unchanged';
    const rows = await tx.query(
      `SELECT part, body::text AS body FROM ${s}.check_memory_parts WHERE check_id = $1 ORDER BY part`,
      [id],
    );
    const parts = new Map(rows.map((r) => [Number(r.part), JSON.parse(String(r.body)) as unknown]));
    return { revision, header: JSON.parse(String(head.header)), parts };
  }

  private async write(
    tx: StateTx,
    id: string,
    fingerprint: string,
    w: MemoryWrite,
  ): Promise<number | 'conflict'> {
    const s = this.o.schemaSql;
    const header = JSON.stringify(w.header);
    let revision: number;
    if (w.base === undefined) {
      await tx.query(`DELETE FROM ${s}.check_memory WHERE saved_at < now() - interval '${FORGET_AFTER}'`);
      const [row] = await tx.query(
        `INSERT INTO ${s}.check_memory AS m (check_id, fingerprint, revision, header) VALUES ($1, $2, 1, $3::json)
         ON CONFLICT (check_id) DO UPDATE
           SET fingerprint = EXCLUDED.fingerprint, revision = m.revision + 1, header = EXCLUDED.header, saved_at = now()
         RETURNING revision`,
        [id, fingerprint, header],
      );
      revision = Number(row?.revision);
      await tx.query(`DELETE FROM ${s}.check_memory_parts WHERE check_id = $1`, [id]);
    } else {
      const [row] = await tx.query(
        `UPDATE ${s}.check_memory SET revision = revision + 1, header = $4::json, saved_at = now()
         WHERE check_id = $1 AND fingerprint = $2 AND revision = $3 RETURNING revision`,
        [id, fingerprint, w.base, header],
      );
      if (row === undefined) return 'conflict';
      revision = Number(row.revision);
      if (w.drop.length > 0) {
        await tx.query(
          `DELETE FROM ${s}.check_memory_parts WHERE check_id = $1 AND part = ANY ($2::bigint[])`,
          [id, w.drop],
        );
      }
    }
    if (w.parts.size > 0) {
      // One statement for every part: arrays of numbers and texts, unnested side by side.
      await tx.query(
        `INSERT INTO ${s}.check_memory_parts (check_id, part, body)
         SELECT $1, p, b::json FROM unnest($2::bigint[], $3::text[]) AS t (p, b)
         ON CONFLICT (check_id, part) DO UPDATE SET body = EXCLUDED.body`,
        [id, [...w.parts.keys()], [...w.parts.values()].map((b) => JSON.stringify(b))],
      );
    }
    return revision;
  }
}
