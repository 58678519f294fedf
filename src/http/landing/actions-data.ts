import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { actionFamilies } from '../../actions/families.js';
import type { RetrainRequest } from '../../actions/retrain/retrain.js';
import type { RetrainService } from '../../actions/retrain/retrain-service.js';
import type { RollbackService } from '../../actions/rollbacks/rollback-service.js';
import { OPEN_STATES, type RollbackRequest } from '../../actions/rollbacks/rollbacks.js';
import type { StoreService } from '../../actions/store/service.js';
import type { Ticket } from '../../actions/tickets/tickets.js';

/**
 * The landing page's view of the actions: counts for everyone who may open the page, lists for the viewer role.
 *
 * The counts are the gauges /metrics already serves (mlwatch_tickets, mlwatch_rollback_requests,
 * mlwatch_retrain_requests_pending), read from the same registry: the page cannot show more than /metrics does,
 * and it never waits on the state store for them. The lists (alert names, reasons, who asked) are what the
 * viewer role guards on /api/v1/...; they are read only for a request that holds it, and at most LIST_TIMEOUT_MS.
 */

export interface ActionCounts {
  storeUp: boolean;
  openTickets: number;
  /** Rollback requests pending approval. */
  awaitingApproval: number;
  /** Approved ones not yet executed (approved, executing). */
  rollbacksUnderway: number;
  retrainPending: number;
}

export interface ActionLists {
  tickets: Ticket[];
  rollbacks: RollbackRequest[];
  retrain: RetrainRequest[];
}

export interface ActionsView {
  counts: ActionCounts;
  /** Absent: the request has no viewer role. A string: why the lists could not be read. */
  lists?: ActionLists | string;
  /** Where a browser signs in for the lists (basic auth), when it can. */
  signIn?: string;
}

/** Items per list; the section links to the API for the rest. */
export const LIST_LIMIT = 10;
export const LIST_TIMEOUT_MS = 2000;

export interface ActionSources {
  registry: Registry;
  state: StoreService;
  retrain: RetrainService;
  rollbacks: RollbackService;
  log: Logger;
}

/** One gauge's samples as /metrics would show them now (collect() runs, reading the cached counts). */
async function gauge(
  registry: Registry,
  name: string,
): Promise<{ labels: Record<string, unknown>; value: number }[]> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return [];
  const { values } = await metric.get();
  return values.map((v) => ({ labels: v.labels as Record<string, unknown>, value: v.value }));
}

const total = (samples: { value: number }[]) => samples.reduce((a, s) => a + s.value, 0);

export async function actionCounts(registry: Registry): Promise<ActionCounts> {
  const [up, tickets, rollbacks, retrain] = await Promise.all([
    gauge(registry, actionFamilies.stateStoreUp.name),
    gauge(registry, actionFamilies.tickets.name),
    gauge(registry, actionFamilies.rollbackRequests.name),
    gauge(registry, actionFamilies.retrainRequestsPending.name),
  ]);
  const rollbacksIn = (states: readonly string[]) =>
    total(rollbacks.filter((s) => states.includes(String(s.labels.state))));
  return {
    storeUp: up[0]?.value === 1,
    openTickets: total(tickets.filter((s) => s.labels.state === 'open')),
    awaitingApproval: rollbacksIn(['pending']),
    rollbacksUnderway: rollbacksIn(OPEN_STATES.filter((s) => s !== 'pending')),
    retrainPending: total(retrain),
  };
}

/** The open tickets, open rollback requests and pending retraining requests, newest first; or why not. */
export async function actionLists(s: ActionSources): Promise<ActionLists | string> {
  // For a viewer the reason is what the API's 503 tells them too.
  if (!s.state.isReady()) return `the state store is not ready: ${s.state.unavailableReason()}`;
  const now = s.rollbacks.now();
  const reading = Promise.all([
    s.state.tickets.list({ state: 'open', limit: LIST_LIMIT }),
    // One open request per model at most (rollbacks.ts), so a few states of LIST_LIMIT each stay small.
    Promise.all(OPEN_STATES.map((state) => s.rollbacks.log.list({ state, limit: LIST_LIMIT, now }))),
    s.retrain.log.list({ state: 'pending', limit: LIST_LIMIT }),
  ]);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), LIST_TIMEOUT_MS);
  });
  try {
    const got = await Promise.race([reading, late]);
    if (got === 'late') {
      // The reads go on and end by themselves (the store's statement_timeout bounds them); nobody waits.
      reading.catch(() => {});
      return `the state store did not answer within ${LIST_TIMEOUT_MS / 1000} s`;
    }
    const [tickets, rollbacks, retrain] = got;
    return { tickets, rollbacks: rollbacks.flat().sort((a, b) => b.id - a.id), retrain };
  } catch (err) {
    // The driver's message stays in the log: it may name hosts and users (docs/security.md, 500 answers).
    s.log.warn({ err: (err as Error).message }, 'landing page: cannot read the action lists');
    return 'the state store could not be read; the log has the reason';
  } finally {
    clearTimeout(timer);
  }
}
