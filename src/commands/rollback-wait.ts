import type { RollbackRequest } from '../actions/rollbacks/rollbacks.js';

/**
 * The approval that completes a rollback request starts its execution, but the exporter answers the approval
 * before the deployment service has answered the exporter: the request comes back `approved` and is `executed`
 * a moment later. Printing the first answer told the approver "approved" about a rollback that had already run,
 * so `mlwatch rollback approve` reads the request again until its first attempt is over.
 */

export interface WaitOptions {
  /** How long to follow the attempt; past it the request is shown as it is, with how to follow it. */
  waitMs: number;
  everyMs: number;
}

// Above the default rollback webhook timeout (10 s, src/actions/rollbacks/rollback-config.ts), so an attempt
// that runs into it still ends within the wait.
export const EXECUTION_WAIT: WaitOptions = { waitMs: 15_000, everyMs: 200 };

const running = (r: RollbackRequest, failuresBefore: number) =>
  (r.state === 'approved' && r.failures === failuresBefore) || r.state === 'executing';

/** The request once its attempt ended (executed, failed, or back to approved for a retry), or at the deadline. */
export async function afterAttempt(
  approved: RollbackRequest,
  read: () => Promise<RollbackRequest | undefined>,
  o: WaitOptions = EXECUTION_WAIT,
): Promise<RollbackRequest> {
  const deadline = Date.now() + o.waitMs;
  let latest = approved;
  while (running(latest, approved.failures) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, o.everyMs));
    // A read that fails (the exporter restarting) leaves the last known state; the deadline still holds.
    latest = (await read().catch(() => undefined)) ?? latest;
  }
  return latest;
}

/** The line under the request that says what became of the execution the approval started. */
export function attemptNote(r: RollbackRequest): string {
  if (r.state === 'executed') return `  both roles approved: executed at ${r.finished_at}`;
  if (r.state === 'failed') return `  both roles approved: the rollback failed, ${r.failures} attempts`;
  if (r.state === 'approved' && r.failures > 0)
    return `  both roles approved: the attempt failed and will be retried; follow it with mlwatch rollback show ${r.id}`;
  return `  both roles approved: executing; follow it with mlwatch rollback show ${r.id}`;
}
