import type { StateDb } from '../store/db.js';
import type { ReportPeriod, RetrainRow, RollbackRow, Section, TicketRow } from './types.js';

export interface ActivitySections {
  tickets: Section<TicketRow>;
  retrains: Section<RetrainRow>;
  rollbacks: Section<RollbackRow>;
}

/**
 * The sections that come from the state store: what the ticket log, retraining and rollbacks recorded in the
 * period [start, end). Counts only: aggregates in SQL, no rows into Node. `s` is the quoted schema.
 */
export async function gatherActivity(db: StateDb, s: string, p: ReportPeriod): Promise<ActivitySections> {
  try {
    return await db.transaction(async (tx) => {
      const range = [p.start, p.end];
      const tickets = await tx.query(
        `SELECT coalesce(team, '') AS team, coalesce(layer, '') AS layer,
                count(*) FILTER (WHERE opened_at >= $1 AND opened_at < $2)::int AS opened,
                count(*) FILTER (WHERE resolved_at >= $1 AND resolved_at < $2)::int AS resolved
           FROM ${s}.tickets
          WHERE (opened_at >= $1 AND opened_at < $2) OR (resolved_at >= $1 AND resolved_at < $2)
          GROUP BY 1, 2 ORDER BY 1, 2`,
        range,
      );
      // Requests made in the period, and the triggers a cooldown folded into a request (of this period or not).
      const retrains = await tx.query(
        `SELECT model, reason, sum(requests)::int AS requests, sum(pending)::int AS pending,
                sum(deduplicated)::int AS deduplicated
           FROM (SELECT model, reason, count(*) AS requests, count(*) FILTER (WHERE state = 'pending') AS pending,
                        0 AS deduplicated
                   FROM ${s}.retrain_requests WHERE requested_at >= $1 AND requested_at < $2
                  GROUP BY 1, 2
                 UNION ALL
                 SELECT model, reason, 0, 0, count(*)
                   FROM ${s}.retrain_triggers
                  WHERE outcome = 'deduplicated' AND received_at >= $1 AND received_at < $2
                  GROUP BY 1, 2) AS r
          GROUP BY 1, 2 ORDER BY 1, 2`,
        range,
      );
      const rollbacks = await tx.query(
        `SELECT model, state, count(*)::int AS requests FROM ${s}.rollback_requests
          WHERE created_at >= $1 AND created_at < $2 GROUP BY 1, 2 ORDER BY 1, 2`,
        range,
      );
      return {
        tickets: {
          rows: tickets.map((r) => ({
            team: String(r.team),
            layer: String(r.layer),
            opened: Number(r.opened),
            resolved: Number(r.resolved),
          })),
        },
        retrains: {
          rows: retrains.map((r) => ({
            model: String(r.model),
            reason: String(r.reason),
            requests: Number(r.requests),
            pending: Number(r.pending),
            deduplicated: Number(r.deduplicated),
          })),
        },
        rollbacks: {
          rows: rollbacks.map((r) => ({
            model: String(r.model),
            state: String(r.state),
            requests: Number(r.requests),
          })),
        },
      };
    });
  } catch (err) {
    return activityUnavailable(storeError(err));
  }
}

/** Why the state store could not be read, in words. */
function storeError(err: unknown): string {
  const e = err as { code?: string; message?: string };
  // 42P01: undefined table, 3F000: undefined schema. The exporter creates them when it starts.
  if (e.code === '42P01' || e.code === '3F000') {
    return 'the state store has no mlwatch tables yet (`mlwatch serve` creates them at start)';
  }
  return `cannot read the state store: ${(e.message ?? String(err)).split('\n')[0]}`;
}

export function activityUnavailable(reason: string): ActivitySections {
  return {
    tickets: { unavailable: reason },
    retrains: { unavailable: reason },
    rollbacks: { unavailable: reason },
  };
}
