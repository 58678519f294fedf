import type { Express } from 'express';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { NowSource } from '../actions/report/now/values.js';
import { ReportService, type ReportServiceOptions } from '../actions/report/service.js';
import { RetrainService, type RetrainServiceOptions } from '../actions/retrain/retrain-service.js';
import { RollbackService, type RollbackServiceOptions } from '../actions/rollbacks/rollback-service.js';
import { StoreCheckMemory } from '../actions/store/check-memory.js';
import { openStateDb, type StateDb } from '../actions/store/db.js';
import { StoreService, type StoreServiceOptions } from '../actions/store/service.js';
import type { CheckMemory } from '../checks/types.js';
import type { LoadedConfig } from '../config/load.js';
import type { Security } from '../http/auth/security.js';
import { reportRoutes } from '../http/report-routes.js';
import { retrainRoutes } from '../http/retrain-routes.js';
import { rollbackRoutes } from '../http/rollback-routes.js';
import { ticketRoutes } from '../http/ticket-routes.js';
import { quoteIdent } from '../sql/identifiers.js';

export interface ActionsOptions {
  config: LoadedConfig;
  log: Logger;
  /** Where the actions' metrics go: the exporter's registry, so /metrics serves them with the checks'. */
  registry: Registry;
  /** Builds the state store for a config; the demo passes its in-process PGlite. */
  openState?: (config: LoadedConfig) => StateDb;
  /** Retraining's clock, poll and backoff (tests shorten them). */
  retrain?: Pick<RetrainServiceOptions, 'now' | 'pollMs' | 'backoffMs' | 'backoffCapMs' | 'refreshMs'>;
  /** Ticket forwarding's poll, backoff and lease (tests shorten them). */
  ticketForward?: StoreServiceOptions['forwardTiming'];
  /** Rollbacks' clock, poll and backoff (tests shorten them). */
  rollback?: Pick<RollbackServiceOptions, 'now' | 'pollMs' | 'backoffMs' | 'backoffCapMs' | 'refreshMs'>;
  /** The checks' values now, for the weekly review's sections that Prometheus cannot give. */
  reportNow?: NowSource;
  /** The weekly review's clock, poll and backoff (tests shorten them). */
  report?: Pick<ReportServiceOptions, 'now' | 'pollMs' | 'backoffMs' | 'backoffCapMs'>;
}

/** The services that act on alerts and requests, all on the one state store. */
export interface Actions {
  state: StoreService;
  retrain: RetrainService;
  rollbacks: RollbackService;
  reports: ReportService;
  /** Where checks keep what they remember between runs, for restarts and replicas (Check.remember). */
  memory: CheckMemory;
  /** Takes a reloaded config: models' retrain and rollback settings, approvers and the report follow it. */
  configure(config: LoadedConfig): void;
  /** Mounts the webhooks and APIs of the ticket log, retraining, rollbacks and the report, guarded. */
  routes(app: Express, security: Security): void;
  /** Stops the services, the state store (which closes its database) last. */
  stop(): Promise<void>;
}

/**
 * Builds the state store and the services on it and starts them. The store migrates in the background; the
 * other services wait on its readiness, so an exporter started before its database still serves /metrics.
 */
export function startActions(o: ActionsOptions): Actions {
  // The state store's settings are read at start; a reload changes checks, not where tickets are kept.
  const db = o.openState ? o.openState(o.config) : openStateDb(o.config.state);
  const schema = o.config.state.schema;
  const state = new StoreService({
    db,
    schema,
    log: o.log,
    forward: o.config.raw.state.ticket_forward,
    ticketLabels: o.config.raw.state.ticket_labels,
    handoff: o.config.raw.state.handoff,
    sharesWarehouse: o.config.raw.state.url === undefined,
    ...(o.ticketForward ? { forwardTiming: o.ticketForward } : {}),
  });
  state.register(o.registry);
  const isReady = () => state.isReady();
  // Retraining writes to the same store; its model settings follow reloads, its cadences are rescheduled.
  const retrain = new RetrainService({ ...o.retrain, db, schema, log: o.log, isReady });
  // Rollbacks too: approvers, expiry and each model's rollback webhook follow reloads.
  const rollbacks = new RollbackService({ ...o.rollback, db, schema, log: o.log, isReady });
  // The weekly review: its cadence and webhook follow reloads (src/actions/report/service.ts).
  const reports = new ReportService({ ...o.report, db, schema, log: o.log, isReady, valuesNow: o.reportNow });
  const configure = (config: LoadedConfig) => {
    retrain.configure(config.raw.models);
    rollbacks.configure(config.raw);
    reports.configure(config.raw.report);
  };
  // Configured, then registered: register() starts each configured model's failure counter at 0.
  configure(o.config);
  retrain.register(o.registry);
  rollbacks.register(o.registry);
  reports.register(o.registry);
  const started = state.start();
  void started.then(() => Promise.all([retrain.refresh(), rollbacks.refresh()]));
  // Checks read their memory once the store's first migration attempt is over, so the first runs after a
  // start find the buckets the last process saved instead of racing the migration.
  const memory = new StoreCheckMemory({ db, schemaSql: quoteIdent(schema), isReady, started, log: o.log });
  retrain.start();
  rollbacks.start();
  reports.start();

  return {
    state,
    retrain,
    rollbacks,
    reports,
    memory,
    configure,
    routes(app, security) {
      ticketRoutes(state, security)(app);
      retrainRoutes(state, retrain, security)(app);
      rollbackRoutes(state, rollbacks, security)(app);
      reportRoutes(state, reports, security)(app);
    },
    async stop() {
      await retrain.stop();
      await rollbacks.stop();
      await reports.stop();
      await state.stop();
    },
  };
}
