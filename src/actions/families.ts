import { type CatalogEntry, family } from '../metrics/family.js';
import { HANDOFF_LABELS } from './tickets/ticket-handoff.js';

/** The actions layer: what the exporter records in its state store (tickets, retraining, reports, rollbacks). */
export const actionFamilies = {
  tickets: family(
    'actions',
    'mlwatch_tickets',
    'gauge',
    ['state', 'team', 'layer'],
    "Tickets in the shared ticket log by state (open, resolved) and by the team and layer labels of their alert; a team or layer outside the alert contract and state.ticket_labels counts as 'other', a missing one as ''.",
  ),
  stateStoreUp: family(
    'actions',
    'mlwatch_state_store_up',
    'gauge',
    [],
    'Whether the state store (ticket log) is migrated and answering (1) or not (0); webhooks get 503 meanwhile.',
  ),
  modelLastRetrainRequest: family(
    'actions',
    'mlwatch_model_last_retrain_request_timestamp_seconds',
    'gauge',
    ['model', 'reason'],
    'When the latest retraining request of the model was recorded, by reason (cadence or alert), as Unix time in seconds; triggers deduplicated within the cooldown do not move it.',
  ),
  retrainRequestsPending: family(
    'actions',
    'mlwatch_retrain_requests_pending',
    'gauge',
    ['model'],
    'Retraining requests of the model not yet accepted by its retrain webhook (new, or failed and waiting for a retry); 0 for every model with a retrain config.',
  ),
  retrainDispatchFailures: family(
    'actions',
    'mlwatch_retrain_dispatch_failures_total',
    'counter',
    ['model'],
    "Failed attempts of this exporter to dispatch a retraining request to the model's webhook (no 2xx answer, timeout, connection error); each is retried with backoff.",
  ),
  ticketForwardPending: family(
    'actions',
    'mlwatch_ticket_forward_pending',
    'gauge',
    [],
    'Ticket events (opened, resolved) queued for the external tracker (state.ticket_forward) and not yet accepted by it; exported only when forwarding is configured.',
  ),
  ticketForwardFailures: family(
    'actions',
    'mlwatch_ticket_forward_failures_total',
    'counter',
    [],
    'Failed attempts of this exporter to forward a ticket event to the external tracker (no 2xx answer, timeout, connection error); each is retried with backoff.',
  ),
  ticketHandedOff: family(
    'actions',
    'mlwatch_ticket_handed_off_timestamp_seconds',
    'gauge',
    [...HANDOFF_LABELS],
    "When each open ticket was handed off (Unix time in seconds), labelled with its id, its alert's name (ticket_alertname), the team it went to, who handed it off ('mlwatch (automatic)' when nobody acknowledged the page in time) and its alert's subject labels; only open, handed-off tickets, at most the 100 latest. MlwatchTicketHandedOff turns each into the data-science receiver's notice.",
  ),
  reportPostPending: family(
    'actions',
    'mlwatch_report_post_pending',
    'gauge',
    [],
    'Weekly reviews kept in the state store for report.webhook and not yet accepted by it (new, or failed and waiting for a retry); 0 without a webhook.',
  ),
  reportPostFailures: family(
    'actions',
    'mlwatch_report_post_failures_total',
    'counter',
    [],
    'Failed attempts of this exporter to post a weekly review to report.webhook (no 2xx answer, timeout, connection error); each is retried with backoff.',
  ),
  rollbackRequests: family(
    'actions',
    'mlwatch_rollback_requests',
    'gauge',
    ['state'],
    'Rollback requests in the state store by state (pending, approved, executing, executed, failed, rejected, expired); every state has a series.',
  ),
  rollbackAuditIntact: family(
    'actions',
    'mlwatch_rollback_audit_intact',
    'gauge',
    [],
    "Whether the rollback audit log's hash chain verified at the last reading (1) or not (0: an entry was changed, deleted or inserted outside mlwatch; `mlwatch rollback verify` names it). Absent until the first reading.",
  ),
  rollbackAuditEntries: family(
    'actions',
    'mlwatch_rollback_audit_entries',
    'gauge',
    [],
    'Entries in the rollback audit log at the last reading. The log only grows: a decrease means entries were deleted, which for the newest ones the hash chain cannot show. Absent until the first reading.',
  ),
} as const satisfies Record<string, CatalogEntry>;
