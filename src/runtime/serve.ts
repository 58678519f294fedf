import type { Server } from 'node:http';
import type { Express } from 'express';
import type { Logger } from 'pino';
import { ConfigError } from '../config/errors.js';
import type { LoadedConfig } from '../config/load.js';
import { createApp } from '../http/app.js';
import { reportRoutes } from '../http/report-routes.js';
import { retrainRoutes } from '../http/retrain-routes.js';
import { rollbackRoutes } from '../http/rollback-routes.js';
import { ticketRoutes } from '../http/ticket-routes.js';
import { ReportService, type ReportServiceOptions } from '../report/service.js';
import { openStateDb, type StateDb } from '../state/db.js';
import { RetrainService, type RetrainServiceOptions } from '../state/retrain-service.js';
import { RollbackService, type RollbackServiceOptions } from '../state/rollback-service.js';
import { StateService, type StateServiceOptions } from '../state/service.js';
import type { Warehouse } from '../warehouse/types.js';
import { Exporter } from './exporter.js';

export interface ServeOptions {
  config: LoadedConfig;
  /** Loads the config again for /-/reload and SIGHUP; throws ConfigError when it is invalid. */
  loadAgain: () => LoadedConfig;
  host: string;
  port: number;
  log: Logger;
  openWarehouse?: (config: LoadedConfig) => Warehouse;
  /** How long shutdown waits for checks in flight before giving up on them. */
  shutdownGraceMs?: number;
  /** Extra HTTP endpoints (the demo's incident switches). */
  routes?: (app: Express) => void;
  /** Builds the state store for a config; the demo passes its in-process PGlite. */
  openState?: (config: LoadedConfig) => StateDb;
  /** Extra work on shutdown (the demo stops its feeder). */
  onShutdown?: () => Promise<void>;
  /** Retraining's clock, poll and backoff (tests shorten them). */
  retrain?: Pick<RetrainServiceOptions, 'now' | 'pollMs' | 'backoffMs' | 'backoffCapMs' | 'refreshMs'>;
  /** Ticket forwarding's poll, backoff and lease (tests shorten them). */
  ticketForward?: StateServiceOptions['forwardTiming'];
  /** Rollbacks' clock, poll and backoff (tests shorten them). */
  rollback?: Pick<RollbackServiceOptions, 'now' | 'pollMs' | 'backoffMs' | 'backoffCapMs' | 'refreshMs'>;
  /** The weekly review's clock, poll and backoff (tests shorten them). */
  report?: Pick<ReportServiceOptions, 'now' | 'pollMs' | 'backoffMs' | 'backoffCapMs'>;
}

export interface Running {
  exporter: Exporter;
  state: StateService;
  retrain: RetrainService;
  rollbacks: RollbackService;
  reports: ReportService;
  server: Server;
  port: number;
  reload(): Promise<{ ok: true } | { ok: false; errors: string }>;
  shutdown(): Promise<void>;
}

/** Starts the exporter and its HTTP server, and wires SIGHUP (reload) and SIGTERM/SIGINT (graceful stop). */
export async function serve(o: ServeOptions): Promise<Running> {
  const exporter = Exporter.start(o.config, {
    log: o.log,
    ...(o.openWarehouse ? { openWarehouse: o.openWarehouse } : {}),
  });
  // The state store's settings are read at start; a reload changes checks, not where tickets are kept.
  const stateDb = o.openState ? o.openState(o.config) : openStateDb(o.config.state);
  const state = new StateService({
    db: stateDb,
    schema: o.config.state.schema,
    log: o.log,
    forward: o.config.raw.state.ticket_forward,
    ...(o.ticketForward ? { forwardTiming: o.ticketForward } : {}),
  });
  state.register(exporter.registry);
  // Retraining writes to the same store; its model settings follow reloads, its cadences are rescheduled.
  const retrain = new RetrainService({
    ...o.retrain,
    db: stateDb,
    schema: o.config.state.schema,
    log: o.log,
    isReady: () => state.isReady(),
  });
  retrain.configure(o.config.raw.models);
  retrain.register(exporter.registry);
  // Rollbacks too: approvers, expiry and each model's rollback webhook follow reloads.
  const rollbacks = new RollbackService({
    ...o.rollback,
    db: stateDb,
    schema: o.config.state.schema,
    log: o.log,
    isReady: () => state.isReady(),
  });
  rollbacks.configure(o.config.raw);
  rollbacks.register(exporter.registry);
  // The weekly review: its cadence and webhook follow reloads (src/report/service.ts).
  const reports = new ReportService({
    ...o.report,
    db: stateDb,
    schema: o.config.state.schema,
    log: o.log,
    isReady: () => state.isReady(),
  });
  reports.configure(o.config.raw.report);
  void state.start().then(() => Promise.all([retrain.refresh(), rollbacks.refresh()]));
  retrain.start();
  rollbacks.start();
  reports.start();
  let reloading: Promise<{ ok: true } | { ok: false; errors: string }> | undefined;

  const reload = () => {
    // Reloads are serialized: a second request waits for the first and then reloads again.
    const next = (reloading ?? Promise.resolve()).then(async () => {
      let config: LoadedConfig;
      try {
        config = o.loadAgain();
      } catch (err) {
        const errors = err instanceof ConfigError ? err.message : String(err);
        exporter.refused(errors);
        return { ok: false as const, errors };
      }
      await exporter.reload(config);
      retrain.configure(config.raw.models);
      rollbacks.configure(config.raw);
      reports.configure(config.raw.report);
      return { ok: true as const };
    });
    reloading = next;
    return next;
  };

  const routes = (app: Express) => {
    ticketRoutes(state)(app);
    retrainRoutes(state, retrain)(app);
    rollbackRoutes(state, rollbacks)(app);
    reportRoutes(state, reports)(app);
    o.routes?.(app);
  };
  const app = createApp({ exporter: () => exporter, reload, routes });
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(o.port, o.host, () => resolve(s));
    s.once('error', reject);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : o.port;
  o.log.info({ host: o.host, port, checks: o.config.checks.length }, 'mlwatch listening');

  let stopping: Promise<void> | undefined;
  const shutdown = () => {
    stopping ??= (async () => {
      o.log.info('shutting down');
      server.close();
      server.closeAllConnections();
      const clean = await exporter.stop(o.shutdownGraceMs ?? 10_000);
      if (!clean) o.log.warn('checks still running after the grace period were abandoned');
      await retrain.stop();
      await rollbacks.stop();
      await reports.stop();
      await state.stop();
      await o.onShutdown?.();
    })();
    return stopping;
  };
  return { exporter, state, retrain, rollbacks, reports, server, port, reload, shutdown };
}

/** For the CLI: signals drive reload and shutdown; the process exits 0 after a clean stop. */
export function handleSignals(running: Running, log: Logger): void {
  process.on('SIGHUP', () => {
    void running.reload().then((r) => {
      if (r.ok) log.info('reloaded on SIGHUP');
    });
  });
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    process.once(sig, () => {
      void running.shutdown().then(() => process.exit(0));
    });
  }
}
